//! The one shape every list answers with: `{"items": [...], "total", "limit", "offset"}`,
//! paged by `limit` (1 to 500, default 50) and `offset`.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

/// The most items one page holds.
pub(crate) const MAX_LIMIT: usize = 500;
/// Items per page when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: usize = 50;

/// `limit` and `offset`, for lists that have no other filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// 1..=500, default 50.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// One page of a list, and how many items there are in all.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct List<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

impl<T> List<T> {
    /// The page of `all` (already in a stable order) that `limit` and `offset` ask for.
    pub(crate) fn page(
        all: Vec<T>,
        limit: Option<usize>,
        offset: Option<usize>,
    ) -> ApiResult<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "`limit` must be between 1 and {MAX_LIMIT}"
            )));
        }
        let total = all.len();
        let offset = offset.unwrap_or(0);
        let items = all.into_iter().skip(offset).take(limit).collect();
        Ok(Self {
            items,
            total,
            limit,
            offset,
        })
    }

    /// The same page with each item turned into another (after paging: only the page's).
    pub(crate) fn map<U>(self, f: impl FnMut(T) -> U) -> List<U> {
        List {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            limit: self.limit,
            offset: self.offset,
        }
    }

    /// [`List::page`] with a [`PageQuery`].
    pub(crate) fn of(all: Vec<T>, q: &PageQuery) -> ApiResult<Self> {
        Self::page(all, q.limit, q.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::List;

    #[test]
    fn pages_count_everything_and_keep_the_order() {
        let all: Vec<u32> = (0..7).collect();
        let p = List::page(all.clone(), Some(3), Some(2)).unwrap();
        assert_eq!(
            (p.items, p.total, p.limit, p.offset),
            (vec![2, 3, 4], 7, 3, 2)
        );
        let p = List::page(all.clone(), None, Some(6)).unwrap();
        assert_eq!((p.items, p.total, p.limit), (vec![6], 7, 50));
        assert!(
            List::page(all.clone(), None, Some(9))
                .unwrap()
                .items
                .is_empty()
        );
        for bad in [0, 501] {
            let e = List::page(all.clone(), Some(bad), None).unwrap_err();
            assert!(e.to_string().contains("`limit`"), "{e}");
        }
    }
}

var Y,$,be,Qe,I,me,ke,we,ne,B,U,Ce,se,oe,re,Xe,z={},J=[],Ze=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,Q=Array.isArray;function T(t,e){for(var n in e)t[n]=e[n];return t}function ae(t){t&&t.parentNode&&t.parentNode.removeChild(t)}function ie(t,e,n){var r,a,o,s={};for(o in e)o=="key"?r=e[o]:o=="ref"?a=e[o]:s[o]=e[o];if(arguments.length>2&&(s.children=arguments.length>3?Y.call(arguments,2):n),typeof t=="function"&&t.defaultProps!=null)for(o in t.defaultProps)s[o]===void 0&&(s[o]=t.defaultProps[o]);return V(t,s,r,a,null)}function V(t,e,n,r,a){var o={type:t,props:e,key:n,ref:r,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:a??++be,__i:-1,__u:0};return a==null&&$.vnode!=null&&$.vnode(o),o}function X(t){return t.children}function G(t,e){this.props=t,this.context=e}function A(t,e){if(e==null)return t.__?A(t.__,t.__i+1):null;for(var n;e<t.__k.length;e++)if((n=t.__k[e])!=null&&n.__e!=null)return n.__e;return typeof t.type=="function"?A(t):null}function et(t){if(t.__P&&t.__d){var e=t.__v,n=e.__e,r=[],a=[],o=T({},e);o.__v=e.__v+1,$.vnode&&$.vnode(o),le(t.__P,o,e,t.__n,t.__P.namespaceURI,32&e.__u?[n]:null,r,n??A(e),!!(32&e.__u),a),o.__v=e.__v,o.__.__k[o.__i]=o,Te(r,o,a),e.__e=e.__=null,o.__e!=n&&Se(o)}}function Se(t){if((t=t.__)!=null&&t.__c!=null)return t.__e=t.__c.base=null,t.__k.some(function(e){if(e!=null&&e.__e!=null)return t.__e=t.__c.base=e.__e}),Se(t)}function ve(t){(!t.__d&&(t.__d=!0)&&I.push(t)&&!K.__r++||me!=$.debounceRendering)&&((me=$.debounceRendering)||ke)(K)}function K(){try{for(var t,e=1;I.length;)I.length>e&&I.sort(we),t=I.shift(),e=I.length,et(t)}finally{I.length=K.__r=0}}function xe(t,e,n,r,a,o,s,c,l,i,d){var f,_,p,m,S,k,b=r&&r.__k||J,h=e.length;for(l=tt(n,e,b,l,h),f=0;f<h;f++)(p=n.__k[f])!=null&&(_=p.__i!=-1&&b[p.__i]||z,p.__i=f,k=le(t,p,_,a,o,s,c,l,i,d),m=p.__e,p.ref&&_.ref!=p.ref&&(_.ref&&_e(_.ref,null,p),d.push(p.ref,p.__c||m,p)),S==null&&m!=null&&(S=m),4&p.__u?(l=Pe(p,l,t),_.__e&&(_.__e=null)):typeof p.type=="function"&&k!==void 0?l=k:m&&(l=m.nextSibling),p.__u&=-7);return n.__e=S,l}function tt(t,e,n,r,a){var o,s,c,l,i,d=n.length,f=d,_=0;for(t.__k=new Array(a),o=0;o<a;o++)(s=e[o])!=null&&typeof s!="boolean"&&typeof s!="function"?(typeof s=="string"||typeof s=="number"||typeof s=="bigint"||s.constructor==String?s=t.__k[o]=V(null,s,null,null,null):Q(s)?s=t.__k[o]=V(X,{children:s},null,null,null):s.constructor===void 0&&s.__b>0?s=t.__k[o]=V(s.type,s.props,s.key,s.ref?s.ref:null,s.__v):t.__k[o]=s,l=o+_,s.__=t,s.__b=t.__b+1,c=null,(i=s.__i=nt(s,n,l,f))!=-1&&(f--,(c=n[i])&&(c.__u|=2)),c==null||c.__v==null?(i==-1&&(a>d?_--:a<d&&_++),typeof s.type!="function"&&(s.__u|=4)):i!=l&&(i==l-1?_--:i==l+1?_++:(i>l?_--:_++,s.__u|=4))):t.__k[o]=null;if(f)for(o=0;o<d;o++)(c=n[o])!=null&&(2&c.__u)==0&&(c.__e==r&&(r=A(c)),Ne(c,c));return r}function Pe(t,e,n){var r,a;if(typeof t.type=="function"){for(r=t.__k,a=0;r&&a<r.length;a++)r[a]&&(r[a].__=t,e=Pe(r[a],e,n));return e}t.__e!=e&&(e&&t.type&&!e.parentNode&&(e=A(t)),e=n.insertBefore(t.__e,e||null));do e=e&&e.nextSibling;while(e!=null&&e.nodeType==8);return e}function nt(t,e,n,r){var a,o,s,c=t.key,l=t.type,i=e[n],d=i!=null&&(2&i.__u)==0;if(i===null&&c==null||d&&c==i.key&&l==i.type)return n;if(r>(d?1:0)){for(a=n-1,o=n+1;a>=0||o<e.length;)if((i=e[s=a>=0?a--:o++])!=null&&(2&i.__u)==0&&c==i.key&&l==i.type)return s}return-1}function ge(t,e,n){e[0]=="-"?t.setProperty(e,n??""):t[e]=n==null?"":typeof n!="number"||Ze.test(e)?n:n+"px"}function q(t,e,n,r,a){var o,s;e:if(e=="style")if(typeof n=="string")t.style.cssText=n;else{if(typeof r=="string"&&(t.style.cssText=r=""),r)for(e in r)n&&e in n||ge(t.style,e,"");if(n)for(e in n)r&&n[e]==r[e]||ge(t.style,e,n[e])}else if(e[0]=="o"&&e[1]=="n")o=e!=(e=e.replace(Ce,"$1")),s=e.toLowerCase(),e=s in t||e=="onFocusOut"||e=="onFocusIn"?s.slice(2):e.slice(2),t.l||(t.l={}),t.l[e+o]=n,n?r?n[U]=r[U]:(n[U]=se,t.addEventListener(e,o?re:oe,o)):t.removeEventListener(e,o?re:oe,o);else{if(a=="http://www.w3.org/2000/svg")e=e.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(e!="width"&&e!="height"&&e!="href"&&e!="list"&&e!="form"&&e!="tabIndex"&&e!="download"&&e!="rowSpan"&&e!="colSpan"&&e!="role"&&e!="popover"&&e in t)try{t[e]=n??"";break e}catch{}typeof n=="function"||(n==null||n===!1&&e[4]!="-"?t.removeAttribute(e):t.setAttribute(e,e=="popover"&&n==1?"":n))}}function ye(t){return function(e){if(this.l){var n=this.l[e.type+t];if(e[B]==null)e[B]=se++;else if(e[B]<n[U])return;return n($.event?$.event(e):e)}}}function le(t,e,n,r,a,o,s,c,l,i){var d,f,_,p,m,S,k,b,h,x,O,N,R,$e,j,te,P=e.type;if(e.constructor!==void 0)return null;128&n.__u&&(l=!!(32&n.__u),o=[c=e.__e=n.__e]),(d=$.__b)&&d(e);e:if(typeof P=="function"){f=s.length;try{if(h=e.props,x=P.prototype&&P.prototype.render,O=(d=P.contextType)&&r[d.__c],N=d?O?O.props.value:d.__:r,n.__c?b=(_=e.__c=n.__c).__=_.__E:(x?e.__c=_=new P(h,N):(e.__c=_=new G(h,N),_.constructor=P,_.render=rt),O&&O.sub(_),_.state||(_.state={}),_.__n=r,p=_.__d=!0,_.__h=[],_._sb=[]),x&&_.__s==null&&(_.__s=_.state),x&&P.getDerivedStateFromProps!=null&&(_.__s==_.state&&(_.__s=T({},_.__s)),T(_.__s,P.getDerivedStateFromProps(h,_.__s))),m=_.props,S=_.state,_.__v=e,p)x&&P.getDerivedStateFromProps==null&&_.componentWillMount!=null&&_.componentWillMount(),x&&_.componentDidMount!=null&&_.__h.push(_.componentDidMount);else{if(x&&P.getDerivedStateFromProps==null&&h!==m&&_.componentWillReceiveProps!=null&&_.componentWillReceiveProps(h,N),e.__v==n.__v||!_.__e&&_.shouldComponentUpdate!=null&&_.shouldComponentUpdate(h,_.__s,N)===!1){e.__v!=n.__v&&(_.props=h,_.state=_.__s,_.__d=!1),e.__e=n.__e,e.__k=n.__k,e.__k.some(function(H){H&&(H.__=e)}),J.push.apply(_.__h,_._sb),_._sb=[],_.__h.length&&s.push(_),c=A(n);break e}_.componentWillUpdate!=null&&_.componentWillUpdate(h,_.__s,N),x&&_.componentDidUpdate!=null&&_.__h.push(function(){_.componentDidUpdate(m,S,k)})}if(_.context=N,_.props=h,_.__P=t,_.__e=!1,R=$.__r,$e=0,x)_.state=_.__s,_.__d=!1,R&&R(e),d=_.render(_.props,_.state,_.context),J.push.apply(_.__h,_._sb),_._sb=[];else do _.__d=!1,R&&R(e),d=_.render(_.props,_.state,_.context),_.state=_.__s;while(_.__d&&++$e<25);_.state=_.__s,_.getChildContext!=null&&(r=T(T({},r),_.getChildContext())),x&&!p&&_.getSnapshotBeforeUpdate!=null&&(k=_.getSnapshotBeforeUpdate(m,S)),j=d!=null&&d.type===X&&d.key==null?Ie(d.props.children):d,c=xe(t,Q(j)?j:[j],e,n,r,a,o,s,c,l,i),_.base=e.__e,e.__u&=-161,_.__h.length&&s.push(_),b&&(_.__E=_.__=null)}catch(H){if(s.length=f,e.__v=null,l||o!=null){if(H.then){for(e.__u|=l?160:128;c&&c.nodeType==8&&c.nextSibling;)c=c.nextSibling;o!=null&&(o[o.indexOf(c)]=null),e.__e=c}else if(o!=null)for(te=o.length;te--;)ae(o[te])}else e.__e=n.__e;e.__k==null&&(e.__k=n.__k||[]),H.then||De(e),$.__e(H,e,n)}}else o==null&&e.__v==n.__v?(e.__k=n.__k,e.__e=n.__e):c=e.__e=ot(n.__e,e,n,r,a,o,s,l,i);return(d=$.diffed)&&d(e),128&e.__u?void 0:c}function De(t){t&&(t.__c&&(t.__c.__e=!0),t.__k&&t.__k.some(De))}function Te(t,e,n){for(var r=0;r<n.length;r++)_e(n[r],n[++r],n[++r]);$.__c&&$.__c(e,t),t.some(function(a){try{t=a.__h,a.__h=[],t.some(function(o){o.call(a)})}catch(o){$.__e(o,a.__v)}})}function Ie(t){return typeof t!="object"||t==null||t.__b>0?t:Q(t)?t.map(Ie):t.constructor!==void 0?null:T({},t)}function ot(t,e,n,r,a,o,s,c,l){var i,d,f,_,p,m,S,k=n.props||z,b=e.props,h=e.type;if(h=="svg"?a="http://www.w3.org/2000/svg":h=="math"?a="http://www.w3.org/1998/Math/MathML":a||(a="http://www.w3.org/1999/xhtml"),o!=null){for(i=0;i<o.length;i++)if((p=o[i])&&"setAttribute"in p==!!h&&(h?p.localName==h:p.nodeType==3)){t=p,o[i]=null;break}}if(t==null){if(h==null)return document.createTextNode(b);t=document.createElementNS(a,h,b.is&&b),c&&($.__m&&$.__m(e,o),c=!1),o=null}if(h==null)k===b||c&&t.data==b||(t.data=b);else{if(o=h=="textarea"&&b.defaultValue!=null?null:o&&Y.call(t.childNodes),!c&&o!=null)for(k={},i=0;i<t.attributes.length;i++)k[(p=t.attributes[i]).name]=p.value;for(i in k)p=k[i],i=="dangerouslySetInnerHTML"?f=p:i=="children"||i in b||i=="value"&&"defaultValue"in b||i=="checked"&&"defaultChecked"in b||q(t,i,null,p,a);for(i in b)p=b[i],i=="children"?_=p:i=="dangerouslySetInnerHTML"?d=p:i=="value"?m=p:i=="checked"?S=p:c&&typeof p!="function"||k[i]===p||q(t,i,p,k[i],a);if(d)c||f&&(d.__html==f.__html||d.__html==t.innerHTML)||(t.innerHTML=d.__html),e.__k=[];else if(f&&(t.innerHTML=""),xe(e.type=="template"?t.content:t,Q(_)?_:[_],e,n,r,h=="foreignObject"?"http://www.w3.org/1999/xhtml":a,o,s,o?o[0]:n.__k&&A(n,0),c,l),o!=null)for(i=o.length;i--;)ae(o[i]);c&&h!="textarea"||(i="value",h=="progress"&&m==null?t.removeAttribute("value"):m!=null&&(m!==t[i]||h=="progress"&&!m||h=="option"&&m!=k[i])&&q(t,i,m,k[i],a),i="checked",S!=null&&S!=t[i]&&q(t,i,S,k[i],a))}return t}function _e(t,e,n){try{if(typeof t=="function"){var r=typeof t.__u=="function";r&&t.__u(),r&&e==null||(t.__u=t(e))}else t.current=e}catch(a){$.__e(a,n)}}function Ne(t,e,n){var r,a;if($.unmount&&$.unmount(t),(r=t.ref)&&(r.current&&r.current!=t.__e||_e(r,null,e)),(r=t.__c)!=null){if(r.componentWillUnmount)try{r.componentWillUnmount()}catch(o){$.__e(o,e)}r.base=r.__P=r.__n=null}if(r=t.__k)for(a=0;a<r.length;a++)r[a]&&Ne(r[a],e,n||typeof t.type!="function");n||ae(t.__e),t.__c=t.__=t.__e=void 0}function rt(t,e,n){return this.constructor(t,n)}function Ae(t,e,n){var r,a,o,s;e==document&&(e=document.documentElement),$.__&&$.__(t,e),a=(r=typeof n=="function")?null:n&&n.__k||e.__k,o=[],s=[],le(e,t=(!r&&n||e).__k=ie(X,null,[t]),a||z,z,e.namespaceURI,!r&&n?[n]:a?null:e.firstChild?Y.call(e.childNodes):null,o,!r&&n?n:a?a.__e:e.firstChild,r,s),Te(o,t,s),t.props.children=null}Y=J.slice,$={__e:function(t,e,n,r){for(var a,o,s;e=e.__;)if((a=e.__c)&&!a.__)try{if((o=a.constructor)&&o.getDerivedStateFromError!=null&&(a.setState(o.getDerivedStateFromError(t)),s=a.__d),a.componentDidCatch!=null&&(a.componentDidCatch(t,r||{}),s=a.__d),s)return a.__E=a}catch(c){t=c}throw t}},be=0,Qe=function(t){return t!=null&&t.constructor===void 0},G.prototype.setState=function(t,e){var n;n=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=T({},this.state),typeof t=="function"&&(t=t(T({},n),this.props)),t&&T(n,t),t!=null&&this.__v&&(e&&this._sb.push(e),ve(this))},G.prototype.forceUpdate=function(t){this.__v&&(this.__e=!0,t&&this.__h.push(t),ve(this))},G.prototype.render=X,I=[],ke=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,we=function(t,e){return t.__v.__b-e.__v.__b},K.__r=0,ne=Math.random().toString(8),B="__d"+ne,U="__a"+ne,Ce=/(PointerCapture)$|Capture$/i,se=0,oe=ye(!1),re=ye(!0),Xe=0;var F,v,ce,Ee,ee=0,We=[],g=$,He=g.__b,Oe=g.__r,Re=g.diffed,Ue=g.__c,Fe=g.unmount,Me=g.__;function de(t,e){g.__h&&g.__h(v,t,ee||e),ee=0;var n=v.__H||(v.__H={__:[],__h:[]});return t>=n.__.length&&n.__.push({}),n.__[t]}function y(t){return ee=1,st(Be,t)}function st(t,e,n){var r=de(F++,2);if(r.t=t,!r.__c&&(r.__=[n?n(e):Be(void 0,e),function(c){var l=r.__N?r.__N[0]:r.__[0],i=r.t(l,c);l!==i&&(r.__N=[i,r.__[1]],r.__c.setState({}))}],r.__c=v,!v.__f)){var a=function(c,l,i){if(!r.__c.__H)return!0;var d=!1,f=r.__c.props!==c;if(r.__c.__H.__.some(function(p){if(p.__N){d=!0;var m=p.__[0];p.__=p.__N,p.__N=void 0,m!==p.__[0]&&(f=!0)}}),o){var _=o.call(this,c,l,i);return d?_||f:_}return!d||f};v.__f=!0;var o=v.shouldComponentUpdate,s=v.componentWillUpdate;v.componentWillUpdate=function(c,l,i){if(this.__e){var d=o;o=void 0,a(c,l,i),o=d}s&&s.call(this,c,l,i)},v.shouldComponentUpdate=a}return r.__N||r.__}function pe(t,e){var n=de(F++,3);!g.__s&&qe(n.__H,e)&&(n.__=t,n.u=e,v.__H.__h.push(n))}function at(t,e){var n=de(F++,7);return qe(n.__H,e)&&(n.__=t(),n.__H=e,n.__h=t),n.__}function je(t,e){return ee=8,at(function(){return t},e)}function it(){for(var t;t=We.shift();){var e=t.__H;if(t.__P&&e)try{e.__h.some(Z),e.__h.some(ue),e.__h=[]}catch(n){e.__h=[],g.__e(n,t.__v)}}}g.__b=function(t){v=null,He&&He(t)},g.__=function(t,e){t&&e.__k&&e.__k.__m&&(t.__m=e.__k.__m),Me&&Me(t,e)},g.__r=function(t){Oe&&Oe(t),F=0;var e=(v=t.__c).__H;e&&(ce===v?(e.__h=[],v.__h=[],e.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})):(e.__h.some(Z),e.__h.some(ue),e.__h=[],F=0)),ce=v},g.diffed=function(t){Re&&Re(t);var e=t.__c;e&&e.__H&&(e.__H.__h.length&&(We.push(e)!==1&&Ee===g.requestAnimationFrame||((Ee=g.requestAnimationFrame)||lt)(it)),e.__H.__.some(function(n){n.u&&(n.__H=n.u,n.u=void 0)})),ce=v=null},g.__c=function(t,e){e.some(function(n){try{n.__h.some(Z),n.__h=n.__h.filter(function(r){return!r.__||ue(r)})}catch(r){e.some(function(a){a.__h&&(a.__h=[])}),e=[],g.__e(r,n.__v)}}),Ue&&Ue(t,e)},g.unmount=function(t){Fe&&Fe(t);var e,n=t.__c;n&&n.__H&&(n.__H.__.some(function(r){try{Z(r)}catch(a){e=a}}),n.__H=void 0,e&&g.__e(e,n.__v))};var Le=typeof requestAnimationFrame=="function";function lt(t){var e,n=function(){clearTimeout(r),Le&&cancelAnimationFrame(e),setTimeout(t)},r=setTimeout(n,35);Le&&(e=requestAnimationFrame(n))}function Z(t){var e=v,n=t.__c;typeof n=="function"&&(t.__c=void 0,n()),v=e}function ue(t){var e=v;t.__c=t.__(),v=e}function qe(t,e){return!t||t.length!==e.length||e.some(function(n,r){return n!==t[r]})}function Be(t,e){return typeof e=="function"?e(t):e}var Ge=function(t,e,n,r){var a;e[0]=0;for(var o=1;o<e.length;o++){var s=e[o++],c=e[o]?(e[0]|=s?1:2,n[e[o++]]):e[++o];s===3?r[0]=c:s===4?r[1]=Object.assign(r[1]||{},c):s===5?(r[1]=r[1]||{})[e[++o]]=c:s===6?r[1][e[++o]]+=c+"":s?(a=t.apply(c,Ge(t,c,n,["",null])),r.push(a),c[0]?e[0]|=2:(e[o-2]=0,e[o]=a)):r.push(c)}return r},Ve=new Map;function ze(t){var e=Ve.get(this);return e||(e=new Map,Ve.set(this,e)),(e=Ge(this,e.get(t)||(e.set(t,e=(function(n){for(var r,a,o=1,s="",c="",l=[0],i=function(_){o===1&&(_||(s=s.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?l.push(0,_,s):o===3&&(_||s)?(l.push(3,_,s),o=2):o===2&&s==="..."&&_?l.push(4,_,0):o===2&&s&&!_?l.push(5,0,!0,s):o>=5&&((s||!_&&o===5)&&(l.push(o,0,s,a),o=6),_&&(l.push(o,_,0,a),o=6)),s=""},d=0;d<n.length;d++){d&&(o===1&&i(),i(d));for(var f=0;f<n[d].length;f++)r=n[d][f],o===1?r==="<"?(i(),l=[l],o=3):s+=r:o===4?s==="--"&&r===">"?(o=1,s=""):s=r+s[0]:c?r===c?c="":s+=r:r==='"'||r==="'"?c=r:r===">"?(i(),o=1):o&&(r==="="?(o=5,a=s,s=""):r==="/"&&(o<5||n[d][f+1]===">")?(i(),o===3&&(l=l[0]),o=l,(l=l[0]).push(2,0,o),o=0):r===" "||r==="	"||r===`
`||r==="\r"?(i(),o=2):s+=r),o===3&&s==="!--"&&(o=4,l=l[0])}return i(),l})(t)),e),arguments,[])).length>1?e:e[0]}var u=ze.bind(ie),W="portcullis.token",fe=class extends Error{constructor(e,n){super(n?.message||`HTTP ${e}`),this.status=e}};async function E(t,e,n){let r={Authorization:`Bearer ${sessionStorage.getItem(W)||""}`};n!==void 0&&(r["Content-Type"]="application/json");let a=await fetch(e,{method:t,headers:r,body:n===void 0?void 0:JSON.stringify(n),credentials:"omit",cache:"no-store"}),o=await a.text(),s=o?JSON.parse(o):null;if(!a.ok)throw new fe(a.status,s);return s}function C(t,e){let[n,r]=y({data:null,error:null}),a=je(()=>{E("GET",t).then(o=>r({data:o,error:null}),o=>r(s=>({data:s.data,error:o})))},[t]);return pe(()=>{if(a(),!e)return;let o=setInterval(a,e);return()=>clearInterval(o)},[a,e]),[n,a]}function _t(){let[t,e]=y(location.hash||"#/approvals");return pe(()=>{let n=()=>e(location.hash||"#/approvals");return addEventListener("hashchange",n),()=>removeEventListener("hashchange",n)},[]),t.slice(2).split("/").map(decodeURIComponent)}var he={agents:"Agents","service-accounts":"Service accounts",tools:"Tools"},D=({at:t})=>t?u`<time datetime=${t}>${new Date(t).toLocaleString()}</time>`:"\u2014",w=({error:t})=>t?u`<p class="error" role="alert">${t.message}</p>`:null;function ct({value:t}){return u`<pre class="json">${JSON.stringify(t,null,2)}</pre>`}function ut({onIn:t}){let[e,n]=y(""),[r,a]=y(null);return u`<main class="signin">
    <h1>Portcullis</h1>
    <form onSubmit=${async s=>{s.preventDefault(),sessionStorage.setItem(W,e.trim());try{await E("GET","/nhi?limit=1"),t()}catch(c){sessionStorage.removeItem(W),a(c.status===401?new Error("This token is not valid here."):c)}}}>
      <label for="token">Bearer token</label>
      <textarea id="token" rows="4" autocomplete="off" spellcheck="false" value=${e}
        onInput=${s=>n(s.target.value)} required></textarea>
      <button type="submit">Sign in</button>
      <${w} error=${r} />
    </form>
  </main>`}function dt({approval:t,onDecided:e}){let[{data:n,error:r}]=C(`/approvals/${t.id}`),[{data:a}]=C(`/nhi/agents/${t.principal_id}`),[o,s]=y(""),[c,l]=y(null),i=async d=>{try{await E("POST",`/approvals/${t.id}/${d}`,{comment:o||void 0}),e()}catch(f){l(f)}};return u`<article class="card approval" data-approval=${t.id}>
    <header><strong>${t.tool}</strong> <span class="muted">requested <${D} at=${t.created_at} /></span></header>
    <dl>
      <dt>Agent</dt><dd><a href=${`#/registry/agents/${t.principal_id}`}>${a?.name||t.principal_id}</a></dd>
      <dt>Owner</dt><dd>${a?.owner_id||"\u2014"}</dd>
      ${t.chain.length?u`<dt>Delegation chain</dt><dd>${t.chain.join(" \u2192 ")}</dd>`:null}
      ${t.on_behalf_of?u`<dt>On behalf of</dt><dd>${t.on_behalf_of}</dd>`:null}
      <dt>Policies</dt><dd>${t.policies.join(", ")}</dd>
      <dt>Expires</dt><dd><${D} at=${t.expires_at} /></dd>
    </dl>
    <h3>Arguments</h3>
    ${n?u`<${ct} value=${n.arguments} />`:u`<${w} error=${r} />`}
    <label>Comment <input value=${o} onInput=${d=>s(d.target.value)} /></label>
    <div class="actions">
      <button class="approve" onClick=${()=>i("approve")}>Approve</button>
      <button class="deny" onClick=${()=>i("deny")}>Deny</button>
    </div>
    <${w} error=${c} />
  </article>`}function pt(){let[{data:t,error:e},n]=C("/approvals?status=pending",2e3),[{data:r},a]=C("/approvals?status=approved&limit=20",5e3),[{data:o},s]=C("/approvals?status=denied&limit=20",5e3),c=()=>{n(),a(),s()},l=[...r?.items||[],...o?.items||[]].sort((i,d)=>(d.decided_at||"").localeCompare(i.decided_at||""));return u`<section>
    <h2>Pending approvals <span class="count">${t?t.total:"\u2026"}</span></h2>
    <${w} error=${e} />
    ${t&&t.items.length===0?u`<p class="muted">Nothing is waiting for a decision.</p>`:null}
    ${(t?.items||[]).map(i=>u`<${dt} key=${i.id} approval=${i} onDecided=${c} />`)}
    <h2>Decided</h2>
    <table class="decided">
      <thead><tr><th>Tool</th><th>Agent</th><th>Decision</th><th>By</th><th>When</th><th>Comment</th></tr></thead>
      <tbody>
        ${l.map(i=>u`<tr key=${i.id}>
          <td>${i.tool}</td><td>${i.principal_id}</td><td class=${i.status}>${i.status}</td>
          <td>${i.decided_by||"\u2014"}</td><td><${D} at=${i.decided_at} /></td><td>${i.comment||""}</td>
        </tr>`)}
      </tbody>
    </table>
  </section>`}var M=20;function ft({kind:t}){let[e,n]=y(""),[r,a]=y(0),o=`limit=${M}&offset=${r}${e?`&search=${encodeURIComponent(e)}`:""}`,[{data:s,error:c}]=C(`/nhi/${t}?${o}`);return u`<section>
    <nav class="tabs">
      ${Object.entries(he).map(([l,i])=>u`<a href=${`#/registry/${l}`} class=${l===t?"active":""}>${i}</a>`)}
    </nav>
    <input type="search" placeholder="Search by name or description" aria-label="Search" value=${e}
      onInput=${l=>{n(l.target.value),a(0)}} />
    <${w} error=${c} />
    <table class="registry">
      <thead><tr><th>Name</th><th>State</th><th>Risk</th><th>Owner</th><th>Last used</th></tr></thead>
      <tbody>
        ${(s?.items||[]).map(l=>u`<tr key=${l.id}>
          <td><a href=${`#/registry/${t}/${l.id}`}>${l.name}</a></td>
          <td class=${`state ${l.lifecycle_state}`}>${l.lifecycle_state}</td>
          <td class=${`risk ${l.risk?.level||l.risk_level}`}>${l.risk?.level||l.risk_level}</td>
          <td>${l.owner_id||"\u2014"}</td><td><${D} at=${l.last_used_at} /></td>
        </tr>`)}
      </tbody>
    </table>
    ${s?u`<p class="pager">
      <button disabled=${r===0} onClick=${()=>a(Math.max(0,r-M))}>Previous</button>
      ${s.total?`${r+1}\u2013${Math.min(r+M,s.total)} of ${s.total}`:"none"}
      <button disabled=${r+M>=s.total} onClick=${()=>a(r+M)}>Next</button>
    </p>`:null}
  </section>`}function ht({nhi:t,kind:e,onChanged:n}){let[r,a]=y(""),[o,s]=y(null),c=t.lifecycle_state==="suspended"?"reactivate":"suspend",l=async i=>{i.preventDefault();try{await E("POST",`/nhi/${e}/${t.id}/${c}`,{reason:r}),a(""),n()}catch(d){s(d)}};return["active","suspended"].includes(t.lifecycle_state)?u`<form class="lifecycle" onSubmit=${l}>
    <label>Reason <input value=${r} onInput=${i=>a(i.target.value)} required /></label>
    <button type="submit" class=${c}>${c==="suspend"?"Suspend":"Reactivate"}</button>
    <${w} error=${o} />
  </form>`:null}function L({title:t,path:e,show:n}){let[{data:r,error:a}]=C(e);return u`<div class="related">
    <h3>${t} <span class="count">${r?r.total:"\u2026"}</span></h3>
    <${w} error=${a} />
    <ul>${(r?.items||[]).map((o,s)=>u`<li key=${s}>${n(o)}</li>`)}</ul>
  </div>`}function $t({kind:t,id:e}){let[{data:n,error:r},a]=C(`/nhi/${t}/${e}`);return n?u`<section class="detail">
    <p><a href=${`#/registry/${t}`}>← ${he[t]}</a></p>
    <h2>${n.name} <span class=${`state ${n.lifecycle_state}`}>${n.lifecycle_state}</span></h2>
    ${n.lifecycle_reason?u`<p class="muted">${n.lifecycle_reason}</p>`:null}
    <dl>
      <dt>Id</dt><dd><code>${n.id}</code></dd>
      <dt>Owner</dt><dd>${n.owner_id||"\u2014"}</dd>
      <dt>Description</dt><dd>${n.description||"\u2014"}</dd>
      <dt>Risk</dt><dd class=${`risk ${n.risk?.level}`}>${n.risk?.level} (${n.risk?.score})
        ${(n.risk?.factors||[]).length?u` — ${n.risk.factors.map(o=>`${o.factor} +${o.points}`).join(", ")}`:null}</dd>
      <dt>Last used</dt><dd><${D} at=${n.last_used_at} /></dd>
    </dl>
    <${ht} nhi=${n} kind=${t} onChanged=${a} />
    ${t==="agents"?u`<${L} title="Tool grants" path=${`/nhi/agents/${e}/tools`} show=${o=>o.upstream?`${o.name} (${o.upstream})`:o.name} />`:null}
    ${t==="tools"?u`<${L} title="Granted to" path=${`/nhi/tools/${e}/agents`} show=${o=>o.name} />`:null}
    ${t!=="tools"?u`<${L} title="May call or delegate to" path=${`/nhi/${e}/callees`} show=${o=>`${o.nhi.name} (${o.permission_type})`} />`:null}
    <${L} title="Called or delegated to by" path=${`/nhi/${e}/callers`} show=${o=>`${o.nhi.name} (${o.permission_type})`} />
    <${L} title="User permissions" path=${`/nhi/${e}/users`} show=${o=>`${o.user_id}: ${o.permission_level}`} />
  </section>`:u`<${w} error=${r} />`}function Je({title:t,counts:e,order:n}){let r=Object.entries(e||{});n&&r.sort(([o],[s])=>n.indexOf(o)-n.indexOf(s));let a=Math.max(1,...r.map(([,o])=>o));return u`<figure class="bars">
    <figcaption>${t}</figcaption>
    ${r.map(([o,s])=>u`<div class="bar" key=${o}>
      <span class="label">${o}</span>
      <span class=${`fill ${o}`} style=${{width:`${100*s/a}%`}}></span>
      <span class="n">${s}</span>
    </div>`)}
  </figure>`}function mt(){let[{data:t,error:e}]=C("/nhi/risk-summary",1e4);return u`<section>
    <h2>Risk</h2>
    <${w} error=${e} />
    ${t?u`<div class="tiles">
      <div class="tile"><span class="n">${t.total_count}</span> NHIs</div>
      <div class="tile"><span class="n">${t.pending_certification}</span> pending certification</div>
      <div class="tile"><span class="n">${t.inactive_30_days}</span> inactive 30 days</div>
      <div class="tile"><span class="n">${t.expiring_7_days}</span> expiring in 7 days</div>
    </div>
    <${Je} title="By risk level" counts=${t.by_risk_level} order=${["critical","high","medium","low"]} />
    <${Je} title="By type" counts=${t.by_type} />`:null}
  </section>`}var Ye={ai_agent:"Agents",service_account:"Service accounts",tool:"Tools"};function vt({onCreated:t}){let[e,n]=y({name:"",types:["ai_agent"],risk_min:"",reviewer_id:"",due_date:"",due_rule:"revoke"}),[r,a]=y(null),o=l=>i=>n({...e,[l]:i.target.value}),s=l=>n({...e,types:e.types.includes(l)?e.types.filter(i=>i!==l):[...e.types,l]});return u`<form class="card campaign-form" onSubmit=${async l=>{l.preventDefault();try{let i={name:e.name,nhi_types:e.types,due_date:e.due_date,due_rule:e.due_rule};e.risk_min&&(i.risk_min=e.risk_min),e.reviewer_id&&(i.reviewer_id=e.reviewer_id);let d=await E("POST","/nhi/certifications",i);location.hash=`#/campaigns/${d.id}`,t()}catch(i){a(i)}}}>
    <h3>New campaign</h3>
    <label>Name <input name="name" value=${e.name} onInput=${o("name")} required /></label>
    <fieldset><legend>Reviews</legend>
      ${Object.entries(Ye).map(([l,i])=>u`<label key=${l}><input type="checkbox" checked=${e.types.includes(l)} onChange=${()=>s(l)} /> ${i}</label>`)}
    </fieldset>
    <label>At least this risky <select value=${e.risk_min} onChange=${o("risk_min")}>
      <option value="">any</option><option value="low">low</option><option value="medium">medium</option><option value="high">high</option><option value="critical">critical</option>
    </select></label>
    <label>Reviewer <input value=${e.reviewer_id} onInput=${o("reviewer_id")} placeholder="each NHI's owner" /></label>
    <label>Due <input type="date" name="due_date" value=${e.due_date} onInput=${o("due_date")} required /></label>
    <label>Open items at the due date are <select value=${e.due_rule} onChange=${o("due_rule")}>
      <option value="revoke">revoked</option><option value="certify">certified</option>
    </select></label>
    <button type="submit">Create draft</button>
    <${w} error=${r} />
  </form>`}function gt(){let[{data:t,error:e},n]=C("/nhi/certifications");return u`<section>
    <h2>Certification campaigns</h2>
    <${w} error=${e} />
    <table class="campaigns">
      <thead><tr><th>Name</th><th>Status</th><th>Due</th><th>Decided</th></tr></thead>
      <tbody>${(t?.items||[]).map(r=>u`<tr key=${r.id}>
        <td><a href=${`#/campaigns/${r.id}`}>${r.name}</a></td><td class=${`status ${r.status}`}>${r.status}</td>
        <td><${D} at=${r.due_date} /></td><td>${r.decided} / ${r.items}</td>
      </tr>`)}</tbody>
    </table>
    <${vt} onCreated=${n} />
  </section>`}function Ke({campaign:t,item:e,onDecided:n}){let[r,a]=y(""),[o,s]=y(null),c=async i=>{try{await E("POST",`/nhi/certifications/${t.id}/${i}/${e.nhi_id}`,{comment:r||void 0}),n()}catch(d){s(d)}},l=new Set(e.unused_grants);return u`<article class="card item" data-item=${e.name}>
    <header><strong>${e.name}</strong> <span class="muted">${Ye[e.nhi_type]||e.nhi_type}</span>
      ${e.decision?u` <span class=${`decision ${e.decision}`}>${e.decision}</span>`:null}</header>
    <dl>
      <dt>Last used</dt><dd><${D} at=${e.last_used_at} /></dd>
      <dt>Grants</dt><dd>${e.grants.length?e.grants.map(i=>u`<span class=${l.has(i.id)?"grant unused":"grant"} key=${i.id}>${i.name}${l.has(i.id)?" (unused 30 days)":""}</span>`):"none"}</dd>
      ${e.decision?u`<dt>Decided</dt><dd>${e.by_rule?"by the due-date rule":e.decided_by} <${D} at=${e.decided_at} />${e.comment?` \u2014 ${e.comment}`:""}</dd>`:null}
    </dl>
    ${!e.decision&&t.status==="active"?u`
      <label>Comment <input value=${r} onInput=${i=>a(i.target.value)} /></label>
      <div class="actions">
        <button class="approve" onClick=${()=>c("certify")}>Certify</button>
        <button class="deny" onClick=${()=>c("revoke")}>Revoke</button>
      </div>`:null}
    <${w} error=${o} />
  </article>`}function yt({id:t}){let[{data:e,error:n},r]=C(`/nhi/certifications/${t}`),[a,o]=y(null),s=async l=>{try{await E("POST",`/nhi/certifications/${t}/${l}`),r()}catch(i){o(i)}};if(!e)return u`<${w} error=${n} />`;let c=e.items.filter(l=>!l.decision);return u`<section class="campaign">
    <p><a href="#/campaigns">← Campaigns</a></p>
    <h2>${e.name} <span class=${`status ${e.status}`}>${e.status}</span></h2>
    <p class="progress">${e.progress?`${e.progress.decided} of ${e.progress.total} decided`:""}
      <progress max=${e.progress?.total||1} value=${e.progress?.decided||0}></progress></p>
    <p class="muted">Due <${D} at=${e.due_date} />; open items then are ${e.due_rule==="certify"?"certified":"revoked"}.</p>
    <div class="actions">
      ${e.status==="draft"?u`<button onClick=${()=>s("launch")}>Launch</button>`:null}
      ${["draft","active"].includes(e.status)?u`<button onClick=${()=>s("cancel")}>Cancel campaign</button>`:null}
    </div>
    <${w} error=${a} />
    ${c.length?u`<h3>To review <span class="count">${c.length}</span></h3>`:null}
    ${c.map(l=>u`<${Ke} key=${l.nhi_id} campaign=${e} item=${l} onDecided=${r} />`)}
    ${e.items.length>c.length?u`<h3>Decided</h3>`:null}
    ${e.items.filter(l=>l.decision).map(l=>u`<${Ke} key=${l.nhi_id} campaign=${e} item=${l} onDecided=${r} />`)}
  </section>`}function bt(){let[t,e]=y({decision:"",principal:"",tool:"",event:""}),[n,r]=y(""),a=Object.entries({...t,cursor:n,limit:"50"}).filter(([,l])=>l).map(([l,i])=>`${l}=${encodeURIComponent(i)}`).join("&"),[{data:o,error:s}]=C(`/audit?${a}`),c=l=>i=>{e({...t,[l]:i.target.value}),r("")};return u`<section>
    <h2>Audit log</h2>
    <form class="filters" onSubmit=${l=>l.preventDefault()}>
      <label>Decision <select value=${t.decision} onChange=${c("decision")}>
        <option value="">any</option><option value="allow">allow</option><option value="deny">deny</option>
        <option value="approval_required">approval required</option><option value="approved">approved</option>
      </select></label>
      <label>Principal <input value=${t.principal} onChange=${c("principal")} placeholder="id" /></label>
      <label>Tool <input value=${t.tool} onChange=${c("tool")} /></label>
      <label>Event <input value=${t.event} onChange=${c("event")} placeholder="e.g. approval.approved" /></label>
    </form>
    <${w} error=${s} />
    <table class="audit">
      <thead><tr><th>Time</th><th>What</th><th>Who</th><th>Tool or target</th><th>Decision</th><th>Status</th></tr></thead>
      <tbody>${(o?.items||[]).map((l,i)=>u`<tr key=${i}>
        <td><${D} at=${l.time} /></td><td>${l.event||l.method||""}</td><td>${l.actor||l.approver||l.principal||""}</td>
        <td>${l.tool||l.target||l.campaign||l.approval||""}</td><td class=${l.decision||""}>${l.decision||""}</td><td>${l.status??""}</td>
      </tr>`)}</tbody>
    </table>
    <p class="pager">
      ${n?u`<button onClick=${()=>r("")}>Newest</button>`:null}
      ${o?.next_cursor?u`<button onClick=${()=>r(o.next_cursor)}>Older</button>`:null}
    </p>
  </section>`}function kt(){let[{data:t,error:e}]=C("/policies?limit=500"),[{data:n}]=C("/readyz",1e4),r=n?.policy;return u`<section>
    <h2>Policies <span class="count">${t?t.total:""}</span></h2>
    ${r?u`<p class=${r.last_error?"reload failing":"reload"}>
      Serving set ${r.epoch}: ${r.reloads} reloads, ${r.failures} failed.
      ${r.last_error?u`<br />The last reload failed, the previous set still serves: <code>${r.last_error}</code>`:""}
    </p>`:null}
    <${w} error=${e} />
    ${t?u`<table class="policies">
      <thead><tr><th>Id</th><th>Effect</th><th>Obligation</th><th>Where</th></tr></thead>
      <tbody>${t.items.map(a=>u`<tr key=${a.id}>
        <td><code>${a.id}</code></td><td class=${a.effect}>${a.effect}</td><td>${a.obligation||""}</td>
        <td><code>${a.file}:${a.line}</code></td>
      </tr>`)}</tbody>
    </table>`:null}
  </section>`}function wt(){let[t,e]=y(!!sessionStorage.getItem(W)),[n,r,a]=_t();if(!t)return u`<${ut} onIn=${()=>e(!0)} />`;let o=()=>{sessionStorage.removeItem(W),location.hash="#/approvals",e(!1)},s;if(n==="registry"){let c=he[r]?r:"agents";s=a?u`<${$t} kind=${c} id=${a} />`:u`<${ft} key=${c} kind=${c} />`}else n==="risk"?s=u`<${mt} />`:n==="campaigns"?s=r?u`<${yt} key=${r} id=${r} />`:u`<${gt} />`:n==="audit"?s=u`<${bt} />`:n==="policies"?s=u`<${kt} />`:s=u`<${pt} />`;return u`<div class="shell">
    <header class="top">
      <strong>Portcullis</strong>
      <nav>
        <a href="#/approvals" class=${n==="approvals"||!n?"active":""}>Approvals</a>
        <a href="#/registry/agents" class=${n==="registry"?"active":""}>Registry</a>
        <a href="#/risk" class=${n==="risk"?"active":""}>Risk</a>
        <a href="#/campaigns" class=${n==="campaigns"?"active":""}>Campaigns</a>
        <a href="#/audit" class=${n==="audit"?"active":""}>Audit</a>
        <a href="#/policies" class=${n==="policies"?"active":""}>Policies</a>
      </nav>
      <button class="signout" onClick=${o}>Sign out</button>
    </header>
    <main>${s}</main>
  </div>`}Ae(u`<${wt} />`,document.getElementById("app"));

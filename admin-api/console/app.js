var K,m,be,Ke,D,$e,ke,we,ne,B,U,Se,_e,re,oe,Qe,G={},J=[],Xe=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,Q=Array.isArray;function C(e,t){for(var n in t)e[n]=t[n];return e}function se(e){e&&e.parentNode&&e.parentNode.removeChild(e)}function ie(e,t,n){var o,s,r,_={};for(r in t)r=="key"?o=t[r]:r=="ref"?s=t[r]:_[r]=t[r];if(arguments.length>2&&(_.children=arguments.length>3?K.call(arguments,2):n),typeof e=="function"&&e.defaultProps!=null)for(r in e.defaultProps)_[r]===void 0&&(_[r]=e.defaultProps[r]);return q(e,_,o,s,null)}function q(e,t,n,o,s){var r={type:e,props:t,key:n,ref:o,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:s??++be,__i:-1,__u:0};return s==null&&m.vnode!=null&&m.vnode(r),r}function X(e){return e.children}function V(e,t){this.props=e,this.context=t}function I(e,t){if(t==null)return e.__?I(e.__,e.__i+1):null;for(var n;t<e.__k.length;t++)if((n=e.__k[t])!=null&&n.__e!=null)return n.__e;return typeof e.type=="function"?I(e):null}function Ye(e){if(e.__P&&e.__d){var t=e.__v,n=t.__e,o=[],s=[],r=C({},t);r.__v=t.__v+1,m.vnode&&m.vnode(r),ae(e.__P,r,t,e.__n,e.__P.namespaceURI,32&t.__u?[n]:null,o,n??I(t),!!(32&t.__u),s),r.__v=t.__v,r.__.__k[r.__i]=r,De(o,r,s),t.__e=t.__=null,r.__e!=n&&xe(r)}}function xe(e){if((e=e.__)!=null&&e.__c!=null)return e.__e=e.__c.base=null,e.__k.some(function(t){if(t!=null&&t.__e!=null)return e.__e=e.__c.base=t.__e}),xe(e)}function ve(e){(!e.__d&&(e.__d=!0)&&D.push(e)&&!z.__r++||$e!=m.debounceRendering)&&(($e=m.debounceRendering)||ke)(z)}function z(){try{for(var e,t=1;D.length;)D.length>t&&D.sort(we),e=D.shift(),t=D.length,Ye(e)}finally{D.length=z.__r=0}}function Ce(e,t,n,o,s,r,_,l,c,a,u){var f,i,d,$,k,b,y=o&&o.__k||J,h=t.length;for(c=Ze(n,t,y,c,h),f=0;f<h;f++)(d=n.__k[f])!=null&&(i=d.__i!=-1&&y[d.__i]||G,d.__i=f,b=ae(e,d,i,s,r,_,l,c,a,u),$=d.__e,d.ref&&i.ref!=d.ref&&(i.ref&&le(i.ref,null,d),u.push(d.ref,d.__c||$,d)),k==null&&$!=null&&(k=$),4&d.__u?(c=Pe(d,c,e),i.__e&&(i.__e=null)):typeof d.type=="function"&&b!==void 0?c=b:$&&(c=$.nextSibling),d.__u&=-7);return n.__e=k,c}function Ze(e,t,n,o,s){var r,_,l,c,a,u=n.length,f=u,i=0;for(e.__k=new Array(s),r=0;r<s;r++)(_=t[r])!=null&&typeof _!="boolean"&&typeof _!="function"?(typeof _=="string"||typeof _=="number"||typeof _=="bigint"||_.constructor==String?_=e.__k[r]=q(null,_,null,null,null):Q(_)?_=e.__k[r]=q(X,{children:_},null,null,null):_.constructor===void 0&&_.__b>0?_=e.__k[r]=q(_.type,_.props,_.key,_.ref?_.ref:null,_.__v):e.__k[r]=_,c=r+i,_.__=e,_.__b=e.__b+1,l=null,(a=_.__i=et(_,n,c,f))!=-1&&(f--,(l=n[a])&&(l.__u|=2)),l==null||l.__v==null?(a==-1&&(s>u?i--:s<u&&i++),typeof _.type!="function"&&(_.__u|=4)):a!=c&&(a==c-1?i--:a==c+1?i++:(a>c?i--:i++,_.__u|=4))):e.__k[r]=null;if(f)for(r=0;r<u;r++)(l=n[r])!=null&&(2&l.__u)==0&&(l.__e==o&&(o=I(l)),Ie(l,l));return o}function Pe(e,t,n){var o,s;if(typeof e.type=="function"){for(o=e.__k,s=0;o&&s<o.length;s++)o[s]&&(o[s].__=e,t=Pe(o[s],t,n));return t}e.__e!=t&&(t&&e.type&&!t.parentNode&&(t=I(e)),t=n.insertBefore(e.__e,t||null));do t=t&&t.nextSibling;while(t!=null&&t.nodeType==8);return t}function et(e,t,n,o){var s,r,_,l=e.key,c=e.type,a=t[n],u=a!=null&&(2&a.__u)==0;if(a===null&&l==null||u&&l==a.key&&c==a.type)return n;if(o>(u?1:0)){for(s=n-1,r=n+1;s>=0||r<t.length;)if((a=t[_=s>=0?s--:r++])!=null&&(2&a.__u)==0&&l==a.key&&c==a.type)return _}return-1}function ge(e,t,n){t[0]=="-"?e.setProperty(t,n??""):e[t]=n==null?"":typeof n!="number"||Xe.test(t)?n:n+"px"}function j(e,t,n,o,s){var r,_;e:if(t=="style")if(typeof n=="string")e.style.cssText=n;else{if(typeof o=="string"&&(e.style.cssText=o=""),o)for(t in o)n&&t in n||ge(e.style,t,"");if(n)for(t in n)o&&n[t]==o[t]||ge(e.style,t,n[t])}else if(t[0]=="o"&&t[1]=="n")r=t!=(t=t.replace(Se,"$1")),_=t.toLowerCase(),t=_ in e||t=="onFocusOut"||t=="onFocusIn"?_.slice(2):t.slice(2),e.l||(e.l={}),e.l[t+r]=n,n?o?n[U]=o[U]:(n[U]=_e,e.addEventListener(t,r?oe:re,r)):e.removeEventListener(t,r?oe:re,r);else{if(s=="http://www.w3.org/2000/svg")t=t.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(t!="width"&&t!="height"&&t!="href"&&t!="list"&&t!="form"&&t!="tabIndex"&&t!="download"&&t!="rowSpan"&&t!="colSpan"&&t!="role"&&t!="popover"&&t in e)try{e[t]=n??"";break e}catch{}typeof n=="function"||(n==null||n===!1&&t[4]!="-"?e.removeAttribute(t):e.setAttribute(t,t=="popover"&&n==1?"":n))}}function ye(e){return function(t){if(this.l){var n=this.l[t.type+e];if(t[B]==null)t[B]=_e++;else if(t[B]<n[U])return;return n(m.event?m.event(t):t)}}}function ae(e,t,n,o,s,r,_,l,c,a){var u,f,i,d,$,k,b,y,h,S,N,H,A,me,W,te,x=t.type;if(t.constructor!==void 0)return null;128&n.__u&&(c=!!(32&n.__u),r=[l=t.__e=n.__e]),(u=m.__b)&&u(t);e:if(typeof x=="function"){f=_.length;try{if(h=t.props,S=x.prototype&&x.prototype.render,N=(u=x.contextType)&&o[u.__c],H=u?N?N.props.value:u.__:o,n.__c?y=(i=t.__c=n.__c).__=i.__E:(S?t.__c=i=new x(h,H):(t.__c=i=new V(h,H),i.constructor=x,i.render=nt),N&&N.sub(i),i.state||(i.state={}),i.__n=o,d=i.__d=!0,i.__h=[],i._sb=[]),S&&i.__s==null&&(i.__s=i.state),S&&x.getDerivedStateFromProps!=null&&(i.__s==i.state&&(i.__s=C({},i.__s)),C(i.__s,x.getDerivedStateFromProps(h,i.__s))),$=i.props,k=i.state,i.__v=t,d)S&&x.getDerivedStateFromProps==null&&i.componentWillMount!=null&&i.componentWillMount(),S&&i.componentDidMount!=null&&i.__h.push(i.componentDidMount);else{if(S&&x.getDerivedStateFromProps==null&&h!==$&&i.componentWillReceiveProps!=null&&i.componentWillReceiveProps(h,H),t.__v==n.__v||!i.__e&&i.shouldComponentUpdate!=null&&i.shouldComponentUpdate(h,i.__s,H)===!1){t.__v!=n.__v&&(i.props=h,i.state=i.__s,i.__d=!1),t.__e=n.__e,t.__k=n.__k,t.__k.some(function(E){E&&(E.__=t)}),J.push.apply(i.__h,i._sb),i._sb=[],i.__h.length&&_.push(i),l=I(n);break e}i.componentWillUpdate!=null&&i.componentWillUpdate(h,i.__s,H),S&&i.componentDidUpdate!=null&&i.__h.push(function(){i.componentDidUpdate($,k,b)})}if(i.context=H,i.props=h,i.__P=e,i.__e=!1,A=m.__r,me=0,S)i.state=i.__s,i.__d=!1,A&&A(t),u=i.render(i.props,i.state,i.context),J.push.apply(i.__h,i._sb),i._sb=[];else do i.__d=!1,A&&A(t),u=i.render(i.props,i.state,i.context),i.state=i.__s;while(i.__d&&++me<25);i.state=i.__s,i.getChildContext!=null&&(o=C(C({},o),i.getChildContext())),S&&!d&&i.getSnapshotBeforeUpdate!=null&&(b=i.getSnapshotBeforeUpdate($,k)),W=u!=null&&u.type===X&&u.key==null?He(u.props.children):u,l=Ce(e,Q(W)?W:[W],t,n,o,s,r,_,l,c,a),i.base=t.__e,t.__u&=-161,i.__h.length&&_.push(i),y&&(i.__E=i.__=null)}catch(E){if(_.length=f,t.__v=null,c||r!=null){if(E.then){for(t.__u|=c?160:128;l&&l.nodeType==8&&l.nextSibling;)l=l.nextSibling;r!=null&&(r[r.indexOf(l)]=null),t.__e=l}else if(r!=null)for(te=r.length;te--;)se(r[te])}else t.__e=n.__e;t.__k==null&&(t.__k=n.__k||[]),E.then||Te(t),m.__e(E,t,n)}}else r==null&&t.__v==n.__v?(t.__k=n.__k,t.__e=n.__e):l=t.__e=tt(n.__e,t,n,o,s,r,_,c,a);return(u=m.diffed)&&u(t),128&t.__u?void 0:l}function Te(e){e&&(e.__c&&(e.__c.__e=!0),e.__k&&e.__k.some(Te))}function De(e,t,n){for(var o=0;o<n.length;o++)le(n[o],n[++o],n[++o]);m.__c&&m.__c(t,e),e.some(function(s){try{e=s.__h,s.__h=[],e.some(function(r){r.call(s)})}catch(r){m.__e(r,s.__v)}})}function He(e){return typeof e!="object"||e==null||e.__b>0?e:Q(e)?e.map(He):e.constructor!==void 0?null:C({},e)}function tt(e,t,n,o,s,r,_,l,c){var a,u,f,i,d,$,k,b=n.props||G,y=t.props,h=t.type;if(h=="svg"?s="http://www.w3.org/2000/svg":h=="math"?s="http://www.w3.org/1998/Math/MathML":s||(s="http://www.w3.org/1999/xhtml"),r!=null){for(a=0;a<r.length;a++)if((d=r[a])&&"setAttribute"in d==!!h&&(h?d.localName==h:d.nodeType==3)){e=d,r[a]=null;break}}if(e==null){if(h==null)return document.createTextNode(y);e=document.createElementNS(s,h,y.is&&y),l&&(m.__m&&m.__m(t,r),l=!1),r=null}if(h==null)b===y||l&&e.data==y||(e.data=y);else{if(r=h=="textarea"&&y.defaultValue!=null?null:r&&K.call(e.childNodes),!l&&r!=null)for(b={},a=0;a<e.attributes.length;a++)b[(d=e.attributes[a]).name]=d.value;for(a in b)d=b[a],a=="dangerouslySetInnerHTML"?f=d:a=="children"||a in y||a=="value"&&"defaultValue"in y||a=="checked"&&"defaultChecked"in y||j(e,a,null,d,s);for(a in y)d=y[a],a=="children"?i=d:a=="dangerouslySetInnerHTML"?u=d:a=="value"?$=d:a=="checked"?k=d:l&&typeof d!="function"||b[a]===d||j(e,a,d,b[a],s);if(u)l||f&&(u.__html==f.__html||u.__html==e.innerHTML)||(e.innerHTML=u.__html),t.__k=[];else if(f&&(e.innerHTML=""),Ce(t.type=="template"?e.content:e,Q(i)?i:[i],t,n,o,h=="foreignObject"?"http://www.w3.org/1999/xhtml":s,r,_,r?r[0]:n.__k&&I(n,0),l,c),r!=null)for(a=r.length;a--;)se(r[a]);l&&h!="textarea"||(a="value",h=="progress"&&$==null?e.removeAttribute("value"):$!=null&&($!==e[a]||h=="progress"&&!$||h=="option"&&$!=b[a])&&j(e,a,$,b[a],s),a="checked",k!=null&&k!=e[a]&&j(e,a,k,b[a],s))}return e}function le(e,t,n){try{if(typeof e=="function"){var o=typeof e.__u=="function";o&&e.__u(),o&&t==null||(e.__u=e(t))}else e.current=t}catch(s){m.__e(s,n)}}function Ie(e,t,n){var o,s;if(m.unmount&&m.unmount(e),(o=e.ref)&&(o.current&&o.current!=e.__e||le(o,null,t)),(o=e.__c)!=null){if(o.componentWillUnmount)try{o.componentWillUnmount()}catch(r){m.__e(r,t)}o.base=o.__P=o.__n=null}if(o=e.__k)for(s=0;s<o.length;s++)o[s]&&Ie(o[s],t,n||typeof e.type!="function");n||se(e.__e),e.__c=e.__=e.__e=void 0}function nt(e,t,n){return this.constructor(e,n)}function Ee(e,t,n){var o,s,r,_;t==document&&(t=document.documentElement),m.__&&m.__(e,t),s=(o=typeof n=="function")?null:n&&n.__k||t.__k,r=[],_=[],ae(t,e=(!o&&n||t).__k=ie(X,null,[e]),s||G,G,t.namespaceURI,!o&&n?[n]:s?null:t.firstChild?K.call(t.childNodes):null,r,!o&&n?n:s?s.__e:t.firstChild,o,_),De(r,e,_),e.props.children=null}K=J.slice,m={__e:function(e,t,n,o){for(var s,r,_;t=t.__;)if((s=t.__c)&&!s.__)try{if((r=s.constructor)&&r.getDerivedStateFromError!=null&&(s.setState(r.getDerivedStateFromError(e)),_=s.__d),s.componentDidCatch!=null&&(s.componentDidCatch(e,o||{}),_=s.__d),_)return s.__E=s}catch(l){e=l}throw e}},be=0,Ke=function(e){return e!=null&&e.constructor===void 0},V.prototype.setState=function(e,t){var n;n=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=C({},this.state),typeof e=="function"&&(e=e(C({},n),this.props)),e&&C(n,e),e!=null&&this.__v&&(t&&this._sb.push(t),ve(this))},V.prototype.forceUpdate=function(e){this.__v&&(this.__e=!0,e&&this.__h.push(e),ve(this))},V.prototype.render=X,D=[],ke=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,we=function(e,t){return e.__v.__b-t.__v.__b},z.__r=0,ne=Math.random().toString(8),B="__d"+ne,U="__a"+ne,Se=/(PointerCapture)$|Capture$/i,_e=0,re=ye(!1),oe=ye(!0),Qe=0;var R,v,ce,Ne,Z=0,We=[],g=m,Ae=g.__b,Ue=g.__r,Re=g.diffed,Oe=g.__c,Fe=g.unmount,Me=g.__;function de(e,t){g.__h&&g.__h(v,e,Z||t),Z=0;var n=v.__H||(v.__H={__:[],__h:[]});return e>=n.__.length&&n.__.push({}),n.__[e]}function w(e){return Z=1,rt(qe,e)}function rt(e,t,n){var o=de(R++,2);if(o.t=e,!o.__c&&(o.__=[n?n(t):qe(void 0,t),function(l){var c=o.__N?o.__N[0]:o.__[0],a=o.t(c,l);c!==a&&(o.__N=[a,o.__[1]],o.__c.setState({}))}],o.__c=v,!v.__f)){var s=function(l,c,a){if(!o.__c.__H)return!0;var u=!1,f=o.__c.props!==l;if(o.__c.__H.__.some(function(d){if(d.__N){u=!0;var $=d.__[0];d.__=d.__N,d.__N=void 0,$!==d.__[0]&&(f=!0)}}),r){var i=r.call(this,l,c,a);return u?i||f:i}return!u||f};v.__f=!0;var r=v.shouldComponentUpdate,_=v.componentWillUpdate;v.componentWillUpdate=function(l,c,a){if(this.__e){var u=r;r=void 0,s(l,c,a),r=u}_&&_.call(this,l,c,a)},v.shouldComponentUpdate=s}return o.__N||o.__}function pe(e,t){var n=de(R++,3);!g.__s&&Be(n.__H,t)&&(n.__=e,n.u=t,v.__H.__h.push(n))}function ot(e,t){var n=de(R++,7);return Be(n.__H,t)&&(n.__=e(),n.__H=t,n.__h=e),n.__}function je(e,t){return Z=8,ot(function(){return e},t)}function _t(){for(var e;e=We.shift();){var t=e.__H;if(e.__P&&t)try{t.__h.some(Y),t.__h.some(ue),t.__h=[]}catch(n){t.__h=[],g.__e(n,e.__v)}}}g.__b=function(e){v=null,Ae&&Ae(e)},g.__=function(e,t){e&&t.__k&&t.__k.__m&&(e.__m=t.__k.__m),Me&&Me(e,t)},g.__r=function(e){Ue&&Ue(e),R=0;var t=(v=e.__c).__H;t&&(ce===v?(t.__h=[],v.__h=[],t.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})):(t.__h.some(Y),t.__h.some(ue),t.__h=[],R=0)),ce=v},g.diffed=function(e){Re&&Re(e);var t=e.__c;t&&t.__H&&(t.__H.__h.length&&(We.push(t)!==1&&Ne===g.requestAnimationFrame||((Ne=g.requestAnimationFrame)||st)(_t)),t.__H.__.some(function(n){n.u&&(n.__H=n.u,n.u=void 0)})),ce=v=null},g.__c=function(e,t){t.some(function(n){try{n.__h.some(Y),n.__h=n.__h.filter(function(o){return!o.__||ue(o)})}catch(o){t.some(function(s){s.__h&&(s.__h=[])}),t=[],g.__e(o,n.__v)}}),Oe&&Oe(e,t)},g.unmount=function(e){Fe&&Fe(e);var t,n=e.__c;n&&n.__H&&(n.__H.__.some(function(o){try{Y(o)}catch(s){t=s}}),n.__H=void 0,t&&g.__e(t,n.__v))};var Le=typeof requestAnimationFrame=="function";function st(e){var t,n=function(){clearTimeout(o),Le&&cancelAnimationFrame(t),setTimeout(e)},o=setTimeout(n,35);Le&&(t=requestAnimationFrame(n))}function Y(e){var t=v,n=e.__c;typeof n=="function"&&(e.__c=void 0,n()),v=t}function ue(e){var t=v;e.__c=e.__(),v=t}function Be(e,t){return!e||e.length!==t.length||t.some(function(n,o){return n!==e[o]})}function qe(e,t){return typeof t=="function"?t(e):t}var Ge=function(e,t,n,o){var s;t[0]=0;for(var r=1;r<t.length;r++){var _=t[r++],l=t[r]?(t[0]|=_?1:2,n[t[r++]]):t[++r];_===3?o[0]=l:_===4?o[1]=Object.assign(o[1]||{},l):_===5?(o[1]=o[1]||{})[t[++r]]=l:_===6?o[1][t[++r]]+=l+"":_?(s=e.apply(l,Ge(e,l,n,["",null])),o.push(s),l[0]?t[0]|=2:(t[r-2]=0,t[r]=s)):o.push(l)}return o},Ve=new Map;function Je(e){var t=Ve.get(this);return t||(t=new Map,Ve.set(this,t)),(t=Ge(this,t.get(e)||(t.set(e,t=(function(n){for(var o,s,r=1,_="",l="",c=[0],a=function(i){r===1&&(i||(_=_.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?c.push(0,i,_):r===3&&(i||_)?(c.push(3,i,_),r=2):r===2&&_==="..."&&i?c.push(4,i,0):r===2&&_&&!i?c.push(5,0,!0,_):r>=5&&((_||!i&&r===5)&&(c.push(r,0,_,s),r=6),i&&(c.push(r,i,0,s),r=6)),_=""},u=0;u<n.length;u++){u&&(r===1&&a(),a(u));for(var f=0;f<n[u].length;f++)o=n[u][f],r===1?o==="<"?(a(),c=[c],r=3):_+=o:r===4?_==="--"&&o===">"?(r=1,_=""):_=o+_[0]:l?o===l?l="":_+=o:o==='"'||o==="'"?l=o:o===">"?(a(),r=1):r&&(o==="="?(r=5,s=_,_=""):o==="/"&&(r<5||n[u][f+1]===">")?(a(),r===3&&(c=c[0]),r=c,(c=c[0]).push(2,0,r),r=0):o===" "||o==="	"||o===`
`||o==="\r"?(a(),r=2):_+=o),r===3&&_==="!--"&&(r=4,c=c[0])}return a(),c})(e)),t),arguments,[])).length>1?t:t[0]}var p=Je.bind(ie),M="portcullis.token",fe=class extends Error{constructor(t,n){super(n?.message||`HTTP ${t}`),this.status=t}};async function ee(e,t,n){let o={Authorization:`Bearer ${sessionStorage.getItem(M)||""}`};n!==void 0&&(o["Content-Type"]="application/json");let s=await fetch(t,{method:e,headers:o,body:n===void 0?void 0:JSON.stringify(n),credentials:"omit",cache:"no-store"}),r=await s.text(),_=r?JSON.parse(r):null;if(!s.ok)throw new fe(s.status,_);return _}function P(e,t){let[n,o]=w({data:null,error:null}),s=je(()=>{ee("GET",e).then(r=>o({data:r,error:null}),r=>o(_=>({data:_.data,error:r})))},[e]);return pe(()=>{if(s(),!t)return;let r=setInterval(s,t);return()=>clearInterval(r)},[s,t]),[n,s]}function it(){let[e,t]=w(location.hash||"#/approvals");return pe(()=>{let n=()=>t(location.hash||"#/approvals");return addEventListener("hashchange",n),()=>removeEventListener("hashchange",n)},[]),e.slice(2).split("/").map(decodeURIComponent)}var he={agents:"Agents","service-accounts":"Service accounts",tools:"Tools"},L=({at:e})=>e?p`<time datetime=${e}>${new Date(e).toLocaleString()}</time>`:"\u2014",T=({error:e})=>e?p`<p class="error" role="alert">${e.message}</p>`:null;function at({value:e}){return p`<pre class="json">${JSON.stringify(e,null,2)}</pre>`}function lt({onIn:e}){let[t,n]=w(""),[o,s]=w(null);return p`<main class="signin">
    <h1>Portcullis</h1>
    <form onSubmit=${async _=>{_.preventDefault(),sessionStorage.setItem(M,t.trim());try{await ee("GET","/nhi?limit=1"),e()}catch(l){sessionStorage.removeItem(M),s(l.status===401?new Error("This token is not valid here."):l)}}}>
      <label for="token">Bearer token</label>
      <textarea id="token" rows="4" autocomplete="off" spellcheck="false" value=${t}
        onInput=${_=>n(_.target.value)} required></textarea>
      <button type="submit">Sign in</button>
      <${T} error=${o} />
    </form>
  </main>`}function ct({approval:e,onDecided:t}){let[{data:n,error:o}]=P(`/approvals/${e.id}`),[{data:s}]=P(`/nhi/agents/${e.principal_id}`),[r,_]=w(""),[l,c]=w(null),a=async u=>{try{await ee("POST",`/approvals/${e.id}/${u}`,{comment:r||void 0}),t()}catch(f){c(f)}};return p`<article class="card approval" data-approval=${e.id}>
    <header><strong>${e.tool}</strong> <span class="muted">requested <${L} at=${e.created_at} /></span></header>
    <dl>
      <dt>Agent</dt><dd><a href=${`#/registry/agents/${e.principal_id}`}>${s?.name||e.principal_id}</a></dd>
      <dt>Owner</dt><dd>${s?.owner_id||"\u2014"}</dd>
      ${e.chain.length?p`<dt>Delegation chain</dt><dd>${e.chain.join(" \u2192 ")}</dd>`:null}
      ${e.on_behalf_of?p`<dt>On behalf of</dt><dd>${e.on_behalf_of}</dd>`:null}
      <dt>Policies</dt><dd>${e.policies.join(", ")}</dd>
      <dt>Expires</dt><dd><${L} at=${e.expires_at} /></dd>
    </dl>
    <h3>Arguments</h3>
    ${n?p`<${at} value=${n.arguments} />`:p`<${T} error=${o} />`}
    <label>Comment <input value=${r} onInput=${u=>_(u.target.value)} /></label>
    <div class="actions">
      <button class="approve" onClick=${()=>a("approve")}>Approve</button>
      <button class="deny" onClick=${()=>a("deny")}>Deny</button>
    </div>
    <${T} error=${l} />
  </article>`}function ut(){let[{data:e,error:t},n]=P("/approvals?status=pending",2e3),[{data:o},s]=P("/approvals?status=approved&limit=20",5e3),[{data:r},_]=P("/approvals?status=denied&limit=20",5e3),l=()=>{n(),s(),_()},c=[...o?.items||[],...r?.items||[]].sort((a,u)=>(u.decided_at||"").localeCompare(a.decided_at||""));return p`<section>
    <h2>Pending approvals <span class="count">${e?e.total:"\u2026"}</span></h2>
    <${T} error=${t} />
    ${e&&e.items.length===0?p`<p class="muted">Nothing is waiting for a decision.</p>`:null}
    ${(e?.items||[]).map(a=>p`<${ct} key=${a.id} approval=${a} onDecided=${l} />`)}
    <h2>Decided</h2>
    <table class="decided">
      <thead><tr><th>Tool</th><th>Agent</th><th>Decision</th><th>By</th><th>When</th><th>Comment</th></tr></thead>
      <tbody>
        ${c.map(a=>p`<tr key=${a.id}>
          <td>${a.tool}</td><td>${a.principal_id}</td><td class=${a.status}>${a.status}</td>
          <td>${a.decided_by||"\u2014"}</td><td><${L} at=${a.decided_at} /></td><td>${a.comment||""}</td>
        </tr>`)}
      </tbody>
    </table>
  </section>`}var O=20;function dt({kind:e}){let[t,n]=w(""),[o,s]=w(0),r=`limit=${O}&offset=${o}${t?`&search=${encodeURIComponent(t)}`:""}`,[{data:_,error:l}]=P(`/nhi/${e}?${r}`);return p`<section>
    <nav class="tabs">
      ${Object.entries(he).map(([c,a])=>p`<a href=${`#/registry/${c}`} class=${c===e?"active":""}>${a}</a>`)}
    </nav>
    <input type="search" placeholder="Search by name or description" aria-label="Search" value=${t}
      onInput=${c=>{n(c.target.value),s(0)}} />
    <${T} error=${l} />
    <table class="registry">
      <thead><tr><th>Name</th><th>State</th><th>Risk</th><th>Owner</th><th>Last used</th></tr></thead>
      <tbody>
        ${(_?.items||[]).map(c=>p`<tr key=${c.id}>
          <td><a href=${`#/registry/${e}/${c.id}`}>${c.name}</a></td>
          <td class=${`state ${c.lifecycle_state}`}>${c.lifecycle_state}</td>
          <td class=${`risk ${c.risk?.level||c.risk_level}`}>${c.risk?.level||c.risk_level}</td>
          <td>${c.owner_id||"\u2014"}</td><td><${L} at=${c.last_used_at} /></td>
        </tr>`)}
      </tbody>
    </table>
    ${_?p`<p class="pager">
      <button disabled=${o===0} onClick=${()=>s(Math.max(0,o-O))}>Previous</button>
      ${_.total?`${o+1}\u2013${Math.min(o+O,_.total)} of ${_.total}`:"none"}
      <button disabled=${o+O>=_.total} onClick=${()=>s(o+O)}>Next</button>
    </p>`:null}
  </section>`}function pt({nhi:e,kind:t,onChanged:n}){let[o,s]=w(""),[r,_]=w(null),l=e.lifecycle_state==="suspended"?"reactivate":"suspend",c=async a=>{a.preventDefault();try{await ee("POST",`/nhi/${t}/${e.id}/${l}`,{reason:o}),s(""),n()}catch(u){_(u)}};return["active","suspended"].includes(e.lifecycle_state)?p`<form class="lifecycle" onSubmit=${c}>
    <label>Reason <input value=${o} onInput=${a=>s(a.target.value)} required /></label>
    <button type="submit" class=${l}>${l==="suspend"?"Suspend":"Reactivate"}</button>
    <${T} error=${r} />
  </form>`:null}function F({title:e,path:t,show:n}){let[{data:o,error:s}]=P(t);return p`<div class="related">
    <h3>${e} <span class="count">${o?o.total:"\u2026"}</span></h3>
    <${T} error=${s} />
    <ul>${(o?.items||[]).map((r,_)=>p`<li key=${_}>${n(r)}</li>`)}</ul>
  </div>`}function ft({kind:e,id:t}){let[{data:n,error:o},s]=P(`/nhi/${e}/${t}`);return n?p`<section class="detail">
    <p><a href=${`#/registry/${e}`}>← ${he[e]}</a></p>
    <h2>${n.name} <span class=${`state ${n.lifecycle_state}`}>${n.lifecycle_state}</span></h2>
    ${n.lifecycle_reason?p`<p class="muted">${n.lifecycle_reason}</p>`:null}
    <dl>
      <dt>Id</dt><dd><code>${n.id}</code></dd>
      <dt>Owner</dt><dd>${n.owner_id||"\u2014"}</dd>
      <dt>Description</dt><dd>${n.description||"\u2014"}</dd>
      <dt>Risk</dt><dd class=${`risk ${n.risk?.level}`}>${n.risk?.level} (${n.risk?.score})
        ${(n.risk?.factors||[]).length?p` — ${n.risk.factors.map(r=>`${r.factor} +${r.points}`).join(", ")}`:null}</dd>
      <dt>Last used</dt><dd><${L} at=${n.last_used_at} /></dd>
    </dl>
    <${pt} nhi=${n} kind=${e} onChanged=${s} />
    ${e==="agents"?p`<${F} title="Tool grants" path=${`/nhi/agents/${t}/tools`} show=${r=>r.upstream?`${r.name} (${r.upstream})`:r.name} />`:null}
    ${e==="tools"?p`<${F} title="Granted to" path=${`/nhi/tools/${t}/agents`} show=${r=>r.name} />`:null}
    ${e!=="tools"?p`<${F} title="May call or delegate to" path=${`/nhi/${t}/callees`} show=${r=>`${r.nhi.name} (${r.permission_type})`} />`:null}
    <${F} title="Called or delegated to by" path=${`/nhi/${t}/callers`} show=${r=>`${r.nhi.name} (${r.permission_type})`} />
    <${F} title="User permissions" path=${`/nhi/${t}/users`} show=${r=>`${r.user_id}: ${r.permission_level}`} />
  </section>`:p`<${T} error=${o} />`}function ze({title:e,counts:t,order:n}){let o=Object.entries(t||{});n&&o.sort(([r],[_])=>n.indexOf(r)-n.indexOf(_));let s=Math.max(1,...o.map(([,r])=>r));return p`<figure class="bars">
    <figcaption>${e}</figcaption>
    ${o.map(([r,_])=>p`<div class="bar" key=${r}>
      <span class="label">${r}</span>
      <span class=${`fill ${r}`} style=${{width:`${100*_/s}%`}}></span>
      <span class="n">${_}</span>
    </div>`)}
  </figure>`}function ht(){let[{data:e,error:t}]=P("/nhi/risk-summary",1e4);return p`<section>
    <h2>Risk</h2>
    <${T} error=${t} />
    ${e?p`<div class="tiles">
      <div class="tile"><span class="n">${e.total_count}</span> NHIs</div>
      <div class="tile"><span class="n">${e.pending_certification}</span> pending certification</div>
      <div class="tile"><span class="n">${e.inactive_30_days}</span> inactive 30 days</div>
      <div class="tile"><span class="n">${e.expiring_7_days}</span> expiring in 7 days</div>
    </div>
    <${ze} title="By risk level" counts=${e.by_risk_level} order=${["critical","high","medium","low"]} />
    <${ze} title="By type" counts=${e.by_type} />`:null}
  </section>`}function mt(){let[e,t]=w(!!sessionStorage.getItem(M)),[n,o,s]=it();if(!e)return p`<${lt} onIn=${()=>t(!0)} />`;let r=()=>{sessionStorage.removeItem(M),location.hash="#/approvals",t(!1)},_;if(n==="registry"){let l=he[o]?o:"agents";_=s?p`<${ft} kind=${l} id=${s} />`:p`<${dt} key=${l} kind=${l} />`}else n==="risk"?_=p`<${ht} />`:_=p`<${ut} />`;return p`<div class="shell">
    <header class="top">
      <strong>Portcullis</strong>
      <nav>
        <a href="#/approvals" class=${n==="approvals"||!n?"active":""}>Approvals</a>
        <a href="#/registry/agents" class=${n==="registry"?"active":""}>Registry</a>
        <a href="#/risk" class=${n==="risk"?"active":""}>Risk</a>
      </nav>
      <button class="signout" onClick=${r}>Sign out</button>
    </header>
    <main>${_}</main>
  </div>`}Ee(p`<${mt} />`,document.getElementById("app"));

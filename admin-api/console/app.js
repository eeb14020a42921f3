var Y,$,be,Qe,I,me,ke,we,ne,B,F,Ce,se,oe,re,Xe,z={},J=[],Ze=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,Q=Array.isArray;function T(t,e){for(var n in e)t[n]=e[n];return t}function ae(t){t&&t.parentNode&&t.parentNode.removeChild(t)}function ie(t,e,n){var r,s,o,a={};for(o in e)o=="key"?r=e[o]:o=="ref"?s=e[o]:a[o]=e[o];if(arguments.length>2&&(a.children=arguments.length>3?Y.call(arguments,2):n),typeof t=="function"&&t.defaultProps!=null)for(o in t.defaultProps)a[o]===void 0&&(a[o]=t.defaultProps[o]);return V(t,a,r,s,null)}function V(t,e,n,r,s){var o={type:t,props:e,key:n,ref:r,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:s??++be,__i:-1,__u:0};return s==null&&$.vnode!=null&&$.vnode(o),o}function X(t){return t.children}function G(t,e){this.props=t,this.context=e}function A(t,e){if(e==null)return t.__?A(t.__,t.__i+1):null;for(var n;e<t.__k.length;e++)if((n=t.__k[e])!=null&&n.__e!=null)return n.__e;return typeof t.type=="function"?A(t):null}function et(t){if(t.__P&&t.__d){var e=t.__v,n=e.__e,r=[],s=[],o=T({},e);o.__v=e.__v+1,$.vnode&&$.vnode(o),le(t.__P,o,e,t.__n,t.__P.namespaceURI,32&e.__u?[n]:null,r,n??A(e),!!(32&e.__u),s),o.__v=e.__v,o.__.__k[o.__i]=o,Te(r,o,s),e.__e=e.__=null,o.__e!=n&&Se(o)}}function Se(t){if((t=t.__)!=null&&t.__c!=null)return t.__e=t.__c.base=null,t.__k.some(function(e){if(e!=null&&e.__e!=null)return t.__e=t.__c.base=e.__e}),Se(t)}function ve(t){(!t.__d&&(t.__d=!0)&&I.push(t)&&!K.__r++||me!=$.debounceRendering)&&((me=$.debounceRendering)||ke)(K)}function K(){try{for(var t,e=1;I.length;)I.length>e&&I.sort(we),t=I.shift(),e=I.length,et(t)}finally{I.length=K.__r=0}}function xe(t,e,n,r,s,o,a,c,l,i,d){var h,_,p,m,S,k,b=r&&r.__k||J,f=e.length;for(l=tt(n,e,b,l,f),h=0;h<f;h++)(p=n.__k[h])!=null&&(_=p.__i!=-1&&b[p.__i]||z,p.__i=h,k=le(t,p,_,s,o,a,c,l,i,d),m=p.__e,p.ref&&_.ref!=p.ref&&(_.ref&&_e(_.ref,null,p),d.push(p.ref,p.__c||m,p)),S==null&&m!=null&&(S=m),4&p.__u?(l=Pe(p,l,t),_.__e&&(_.__e=null)):typeof p.type=="function"&&k!==void 0?l=k:m&&(l=m.nextSibling),p.__u&=-7);return n.__e=S,l}function tt(t,e,n,r,s){var o,a,c,l,i,d=n.length,h=d,_=0;for(t.__k=new Array(s),o=0;o<s;o++)(a=e[o])!=null&&typeof a!="boolean"&&typeof a!="function"?(typeof a=="string"||typeof a=="number"||typeof a=="bigint"||a.constructor==String?a=t.__k[o]=V(null,a,null,null,null):Q(a)?a=t.__k[o]=V(X,{children:a},null,null,null):a.constructor===void 0&&a.__b>0?a=t.__k[o]=V(a.type,a.props,a.key,a.ref?a.ref:null,a.__v):t.__k[o]=a,l=o+_,a.__=t,a.__b=t.__b+1,c=null,(i=a.__i=nt(a,n,l,h))!=-1&&(h--,(c=n[i])&&(c.__u|=2)),c==null||c.__v==null?(i==-1&&(s>d?_--:s<d&&_++),typeof a.type!="function"&&(a.__u|=4)):i!=l&&(i==l-1?_--:i==l+1?_++:(i>l?_--:_++,a.__u|=4))):t.__k[o]=null;if(h)for(o=0;o<d;o++)(c=n[o])!=null&&(2&c.__u)==0&&(c.__e==r&&(r=A(c)),Ne(c,c));return r}function Pe(t,e,n){var r,s;if(typeof t.type=="function"){for(r=t.__k,s=0;r&&s<r.length;s++)r[s]&&(r[s].__=t,e=Pe(r[s],e,n));return e}t.__e!=e&&(e&&t.type&&!e.parentNode&&(e=A(t)),e=n.insertBefore(t.__e,e||null));do e=e&&e.nextSibling;while(e!=null&&e.nodeType==8);return e}function nt(t,e,n,r){var s,o,a,c=t.key,l=t.type,i=e[n],d=i!=null&&(2&i.__u)==0;if(i===null&&c==null||d&&c==i.key&&l==i.type)return n;if(r>(d?1:0)){for(s=n-1,o=n+1;s>=0||o<e.length;)if((i=e[a=s>=0?s--:o++])!=null&&(2&i.__u)==0&&c==i.key&&l==i.type)return a}return-1}function ge(t,e,n){e[0]=="-"?t.setProperty(e,n??""):t[e]=n==null?"":typeof n!="number"||Ze.test(e)?n:n+"px"}function q(t,e,n,r,s){var o,a;e:if(e=="style")if(typeof n=="string")t.style.cssText=n;else{if(typeof r=="string"&&(t.style.cssText=r=""),r)for(e in r)n&&e in n||ge(t.style,e,"");if(n)for(e in n)r&&n[e]==r[e]||ge(t.style,e,n[e])}else if(e[0]=="o"&&e[1]=="n")o=e!=(e=e.replace(Ce,"$1")),a=e.toLowerCase(),e=a in t||e=="onFocusOut"||e=="onFocusIn"?a.slice(2):e.slice(2),t.l||(t.l={}),t.l[e+o]=n,n?r?n[F]=r[F]:(n[F]=se,t.addEventListener(e,o?re:oe,o)):t.removeEventListener(e,o?re:oe,o);else{if(s=="http://www.w3.org/2000/svg")e=e.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(e!="width"&&e!="height"&&e!="href"&&e!="list"&&e!="form"&&e!="tabIndex"&&e!="download"&&e!="rowSpan"&&e!="colSpan"&&e!="role"&&e!="popover"&&e in t)try{t[e]=n??"";break e}catch{}typeof n=="function"||(n==null||n===!1&&e[4]!="-"?t.removeAttribute(e):t.setAttribute(e,e=="popover"&&n==1?"":n))}}function ye(t){return function(e){if(this.l){var n=this.l[e.type+t];if(e[B]==null)e[B]=se++;else if(e[B]<n[F])return;return n($.event?$.event(e):e)}}}function le(t,e,n,r,s,o,a,c,l,i){var d,h,_,p,m,S,k,b,f,P,O,N,U,$e,j,te,D=e.type;if(e.constructor!==void 0)return null;128&n.__u&&(l=!!(32&n.__u),o=[c=e.__e=n.__e]),(d=$.__b)&&d(e);e:if(typeof D=="function"){h=a.length;try{if(f=e.props,P=D.prototype&&D.prototype.render,O=(d=D.contextType)&&r[d.__c],N=d?O?O.props.value:d.__:r,n.__c?b=(_=e.__c=n.__c).__=_.__E:(P?e.__c=_=new D(f,N):(e.__c=_=new G(f,N),_.constructor=D,_.render=rt),O&&O.sub(_),_.state||(_.state={}),_.__n=r,p=_.__d=!0,_.__h=[],_._sb=[]),P&&_.__s==null&&(_.__s=_.state),P&&D.getDerivedStateFromProps!=null&&(_.__s==_.state&&(_.__s=T({},_.__s)),T(_.__s,D.getDerivedStateFromProps(f,_.__s))),m=_.props,S=_.state,_.__v=e,p)P&&D.getDerivedStateFromProps==null&&_.componentWillMount!=null&&_.componentWillMount(),P&&_.componentDidMount!=null&&_.__h.push(_.componentDidMount);else{if(P&&D.getDerivedStateFromProps==null&&f!==m&&_.componentWillReceiveProps!=null&&_.componentWillReceiveProps(f,N),e.__v==n.__v||!_.__e&&_.shouldComponentUpdate!=null&&_.shouldComponentUpdate(f,_.__s,N)===!1){e.__v!=n.__v&&(_.props=f,_.state=_.__s,_.__d=!1),e.__e=n.__e,e.__k=n.__k,e.__k.some(function(H){H&&(H.__=e)}),J.push.apply(_.__h,_._sb),_._sb=[],_.__h.length&&a.push(_),c=A(n);break e}_.componentWillUpdate!=null&&_.componentWillUpdate(f,_.__s,N),P&&_.componentDidUpdate!=null&&_.__h.push(function(){_.componentDidUpdate(m,S,k)})}if(_.context=N,_.props=f,_.__P=t,_.__e=!1,U=$.__r,$e=0,P)_.state=_.__s,_.__d=!1,U&&U(e),d=_.render(_.props,_.state,_.context),J.push.apply(_.__h,_._sb),_._sb=[];else do _.__d=!1,U&&U(e),d=_.render(_.props,_.state,_.context),_.state=_.__s;while(_.__d&&++$e<25);_.state=_.__s,_.getChildContext!=null&&(r=T(T({},r),_.getChildContext())),P&&!p&&_.getSnapshotBeforeUpdate!=null&&(k=_.getSnapshotBeforeUpdate(m,S)),j=d!=null&&d.type===X&&d.key==null?Ie(d.props.children):d,c=xe(t,Q(j)?j:[j],e,n,r,s,o,a,c,l,i),_.base=e.__e,e.__u&=-161,_.__h.length&&a.push(_),b&&(_.__E=_.__=null)}catch(H){if(a.length=h,e.__v=null,l||o!=null){if(H.then){for(e.__u|=l?160:128;c&&c.nodeType==8&&c.nextSibling;)c=c.nextSibling;o!=null&&(o[o.indexOf(c)]=null),e.__e=c}else if(o!=null)for(te=o.length;te--;)ae(o[te])}else e.__e=n.__e;e.__k==null&&(e.__k=n.__k||[]),H.then||De(e),$.__e(H,e,n)}}else o==null&&e.__v==n.__v?(e.__k=n.__k,e.__e=n.__e):c=e.__e=ot(n.__e,e,n,r,s,o,a,l,i);return(d=$.diffed)&&d(e),128&e.__u?void 0:c}function De(t){t&&(t.__c&&(t.__c.__e=!0),t.__k&&t.__k.some(De))}function Te(t,e,n){for(var r=0;r<n.length;r++)_e(n[r],n[++r],n[++r]);$.__c&&$.__c(e,t),t.some(function(s){try{t=s.__h,s.__h=[],t.some(function(o){o.call(s)})}catch(o){$.__e(o,s.__v)}})}function Ie(t){return typeof t!="object"||t==null||t.__b>0?t:Q(t)?t.map(Ie):t.constructor!==void 0?null:T({},t)}function ot(t,e,n,r,s,o,a,c,l){var i,d,h,_,p,m,S,k=n.props||z,b=e.props,f=e.type;if(f=="svg"?s="http://www.w3.org/2000/svg":f=="math"?s="http://www.w3.org/1998/Math/MathML":s||(s="http://www.w3.org/1999/xhtml"),o!=null){for(i=0;i<o.length;i++)if((p=o[i])&&"setAttribute"in p==!!f&&(f?p.localName==f:p.nodeType==3)){t=p,o[i]=null;break}}if(t==null){if(f==null)return document.createTextNode(b);t=document.createElementNS(s,f,b.is&&b),c&&($.__m&&$.__m(e,o),c=!1),o=null}if(f==null)k===b||c&&t.data==b||(t.data=b);else{if(o=f=="textarea"&&b.defaultValue!=null?null:o&&Y.call(t.childNodes),!c&&o!=null)for(k={},i=0;i<t.attributes.length;i++)k[(p=t.attributes[i]).name]=p.value;for(i in k)p=k[i],i=="dangerouslySetInnerHTML"?h=p:i=="children"||i in b||i=="value"&&"defaultValue"in b||i=="checked"&&"defaultChecked"in b||q(t,i,null,p,s);for(i in b)p=b[i],i=="children"?_=p:i=="dangerouslySetInnerHTML"?d=p:i=="value"?m=p:i=="checked"?S=p:c&&typeof p!="function"||k[i]===p||q(t,i,p,k[i],s);if(d)c||h&&(d.__html==h.__html||d.__html==t.innerHTML)||(t.innerHTML=d.__html),e.__k=[];else if(h&&(t.innerHTML=""),xe(e.type=="template"?t.content:t,Q(_)?_:[_],e,n,r,f=="foreignObject"?"http://www.w3.org/1999/xhtml":s,o,a,o?o[0]:n.__k&&A(n,0),c,l),o!=null)for(i=o.length;i--;)ae(o[i]);c&&f!="textarea"||(i="value",f=="progress"&&m==null?t.removeAttribute("value"):m!=null&&(m!==t[i]||f=="progress"&&!m||f=="option"&&m!=k[i])&&q(t,i,m,k[i],s),i="checked",S!=null&&S!=t[i]&&q(t,i,S,k[i],s))}return t}function _e(t,e,n){try{if(typeof t=="function"){var r=typeof t.__u=="function";r&&t.__u(),r&&e==null||(t.__u=t(e))}else t.current=e}catch(s){$.__e(s,n)}}function Ne(t,e,n){var r,s;if($.unmount&&$.unmount(t),(r=t.ref)&&(r.current&&r.current!=t.__e||_e(r,null,e)),(r=t.__c)!=null){if(r.componentWillUnmount)try{r.componentWillUnmount()}catch(o){$.__e(o,e)}r.base=r.__P=r.__n=null}if(r=t.__k)for(s=0;s<r.length;s++)r[s]&&Ne(r[s],e,n||typeof t.type!="function");n||ae(t.__e),t.__c=t.__=t.__e=void 0}function rt(t,e,n){return this.constructor(t,n)}function Ae(t,e,n){var r,s,o,a;e==document&&(e=document.documentElement),$.__&&$.__(t,e),s=(r=typeof n=="function")?null:n&&n.__k||e.__k,o=[],a=[],le(e,t=(!r&&n||e).__k=ie(X,null,[t]),s||z,z,e.namespaceURI,!r&&n?[n]:s?null:e.firstChild?Y.call(e.childNodes):null,o,!r&&n?n:s?s.__e:e.firstChild,r,a),Te(o,t,a),t.props.children=null}Y=J.slice,$={__e:function(t,e,n,r){for(var s,o,a;e=e.__;)if((s=e.__c)&&!s.__)try{if((o=s.constructor)&&o.getDerivedStateFromError!=null&&(s.setState(o.getDerivedStateFromError(t)),a=s.__d),s.componentDidCatch!=null&&(s.componentDidCatch(t,r||{}),a=s.__d),a)return s.__E=s}catch(c){t=c}throw t}},be=0,Qe=function(t){return t!=null&&t.constructor===void 0},G.prototype.setState=function(t,e){var n;n=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=T({},this.state),typeof t=="function"&&(t=t(T({},n),this.props)),t&&T(n,t),t!=null&&this.__v&&(e&&this._sb.push(e),ve(this))},G.prototype.forceUpdate=function(t){this.__v&&(this.__e=!0,t&&this.__h.push(t),ve(this))},G.prototype.render=X,I=[],ke=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,we=function(t,e){return t.__v.__b-e.__v.__b},K.__r=0,ne=Math.random().toString(8),B="__d"+ne,F="__a"+ne,Ce=/(PointerCapture)$|Capture$/i,se=0,oe=ye(!1),re=ye(!0),Xe=0;var L,v,ce,Ee,ee=0,We=[],g=$,He=g.__b,Re=g.__r,Oe=g.diffed,Ue=g.__c,Fe=g.unmount,Le=g.__;function de(t,e){g.__h&&g.__h(v,t,ee||e),ee=0;var n=v.__H||(v.__H={__:[],__h:[]});return t>=n.__.length&&n.__.push({}),n.__[t]}function y(t){return ee=1,st(Be,t)}function st(t,e,n){var r=de(L++,2);if(r.t=t,!r.__c&&(r.__=[n?n(e):Be(void 0,e),function(c){var l=r.__N?r.__N[0]:r.__[0],i=r.t(l,c);l!==i&&(r.__N=[i,r.__[1]],r.__c.setState({}))}],r.__c=v,!v.__f)){var s=function(c,l,i){if(!r.__c.__H)return!0;var d=!1,h=r.__c.props!==c;if(r.__c.__H.__.some(function(p){if(p.__N){d=!0;var m=p.__[0];p.__=p.__N,p.__N=void 0,m!==p.__[0]&&(h=!0)}}),o){var _=o.call(this,c,l,i);return d?_||h:_}return!d||h};v.__f=!0;var o=v.shouldComponentUpdate,a=v.componentWillUpdate;v.componentWillUpdate=function(c,l,i){if(this.__e){var d=o;o=void 0,s(c,l,i),o=d}a&&a.call(this,c,l,i)},v.shouldComponentUpdate=s}return r.__N||r.__}function pe(t,e){var n=de(L++,3);!g.__s&&qe(n.__H,e)&&(n.__=t,n.u=e,v.__H.__h.push(n))}function at(t,e){var n=de(L++,7);return qe(n.__H,e)&&(n.__=t(),n.__H=e,n.__h=t),n.__}function je(t,e){return ee=8,at(function(){return t},e)}function it(){for(var t;t=We.shift();){var e=t.__H;if(t.__P&&e)try{e.__h.some(Z),e.__h.some(ue),e.__h=[]}catch(n){e.__h=[],g.__e(n,t.__v)}}}g.__b=function(t){v=null,He&&He(t)},g.__=function(t,e){t&&e.__k&&e.__k.__m&&(t.__m=e.__k.__m),Le&&Le(t,e)},g.__r=function(t){Re&&Re(t),L=0;var e=(v=t.__c).__H;e&&(ce===v?(e.__h=[],v.__h=[],e.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})):(e.__h.some(Z),e.__h.some(ue),e.__h=[],L=0)),ce=v},g.diffed=function(t){Oe&&Oe(t);var e=t.__c;e&&e.__H&&(e.__H.__h.length&&(We.push(e)!==1&&Ee===g.requestAnimationFrame||((Ee=g.requestAnimationFrame)||lt)(it)),e.__H.__.some(function(n){n.u&&(n.__H=n.u,n.u=void 0)})),ce=v=null},g.__c=function(t,e){e.some(function(n){try{n.__h.some(Z),n.__h=n.__h.filter(function(r){return!r.__||ue(r)})}catch(r){e.some(function(s){s.__h&&(s.__h=[])}),e=[],g.__e(r,n.__v)}}),Ue&&Ue(t,e)},g.unmount=function(t){Fe&&Fe(t);var e,n=t.__c;n&&n.__H&&(n.__H.__.some(function(r){try{Z(r)}catch(s){e=s}}),n.__H=void 0,e&&g.__e(e,n.__v))};var Me=typeof requestAnimationFrame=="function";function lt(t){var e,n=function(){clearTimeout(r),Me&&cancelAnimationFrame(e),setTimeout(t)},r=setTimeout(n,35);Me&&(e=requestAnimationFrame(n))}function Z(t){var e=v,n=t.__c;typeof n=="function"&&(t.__c=void 0,n()),v=e}function ue(t){var e=v;t.__c=t.__(),v=e}function qe(t,e){return!t||t.length!==e.length||e.some(function(n,r){return n!==t[r]})}function Be(t,e){return typeof e=="function"?e(t):e}var Ge=function(t,e,n,r){var s;e[0]=0;for(var o=1;o<e.length;o++){var a=e[o++],c=e[o]?(e[0]|=a?1:2,n[e[o++]]):e[++o];a===3?r[0]=c:a===4?r[1]=Object.assign(r[1]||{},c):a===5?(r[1]=r[1]||{})[e[++o]]=c:a===6?r[1][e[++o]]+=c+"":a?(s=t.apply(c,Ge(t,c,n,["",null])),r.push(s),c[0]?e[0]|=2:(e[o-2]=0,e[o]=s)):r.push(c)}return r},Ve=new Map;function ze(t){var e=Ve.get(this);return e||(e=new Map,Ve.set(this,e)),(e=Ge(this,e.get(t)||(e.set(t,e=(function(n){for(var r,s,o=1,a="",c="",l=[0],i=function(_){o===1&&(_||(a=a.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?l.push(0,_,a):o===3&&(_||a)?(l.push(3,_,a),o=2):o===2&&a==="..."&&_?l.push(4,_,0):o===2&&a&&!_?l.push(5,0,!0,a):o>=5&&((a||!_&&o===5)&&(l.push(o,0,a,s),o=6),_&&(l.push(o,_,0,s),o=6)),a=""},d=0;d<n.length;d++){d&&(o===1&&i(),i(d));for(var h=0;h<n[d].length;h++)r=n[d][h],o===1?r==="<"?(i(),l=[l],o=3):a+=r:o===4?a==="--"&&r===">"?(o=1,a=""):a=r+a[0]:c?r===c?c="":a+=r:r==='"'||r==="'"?c=r:r===">"?(i(),o=1):o&&(r==="="?(o=5,s=a,a=""):r==="/"&&(o<5||n[d][h+1]===">")?(i(),o===3&&(l=l[0]),o=l,(l=l[0]).push(2,0,o),o=0):r===" "||r==="	"||r===`
`||r==="\r"?(i(),o=2):a+=r),o===3&&a==="!--"&&(o=4,l=l[0])}return i(),l})(t)),e),arguments,[])).length>1?e:e[0]}var u=ze.bind(ie),W="portcullis.token",he=class extends Error{constructor(e,n){super(n?.message||`HTTP ${e}`),this.status=e}};async function E(t,e,n){let r={Authorization:`Bearer ${sessionStorage.getItem(W)||""}`};n!==void 0&&(r["Content-Type"]="application/json");let s=await fetch(e,{method:t,headers:r,body:n===void 0?void 0:JSON.stringify(n),credentials:"omit",cache:"no-store"}),o=await s.text(),a=o?JSON.parse(o):null;if(!s.ok)throw new he(s.status,a);return a}function C(t,e){let[n,r]=y({data:null,error:null}),s=je(()=>{E("GET",t).then(o=>r({data:o,error:null}),o=>r(a=>({data:a.data,error:o})))},[t]);return pe(()=>{if(s(),!e)return;let o=setInterval(s,e);return()=>clearInterval(o)},[s,e]),[n,s]}function _t(){let[t,e]=y(location.hash||"#/approvals");return pe(()=>{let n=()=>e(location.hash||"#/approvals");return addEventListener("hashchange",n),()=>removeEventListener("hashchange",n)},[]),t.slice(2).split("/").map(decodeURIComponent)}var fe={agents:"Agents","service-accounts":"Service accounts",tools:"Tools"},x=({at:t})=>t?u`<time datetime=${t}>${new Date(t).toLocaleString()}</time>`:"\u2014",w=({error:t})=>t?u`<p class="error" role="alert">${t.message}</p>`:null;function ct({value:t}){return u`<pre class="json">${JSON.stringify(t,null,2)}</pre>`}function ut({onIn:t}){let[e,n]=y(""),[r,s]=y(null);return u`<main class="signin">
    <h1>Portcullis</h1>
    <form onSubmit=${async a=>{a.preventDefault(),sessionStorage.setItem(W,e.trim());try{await E("GET","/nhi?limit=1"),t()}catch(c){sessionStorage.removeItem(W),s(c.status===401?new Error("This token is not valid here."):c)}}}>
      <label for="token">Bearer token</label>
      <textarea id="token" rows="4" autocomplete="off" spellcheck="false" value=${e}
        onInput=${a=>n(a.target.value)} required></textarea>
      <button type="submit">Sign in</button>
      <${w} error=${r} />
    </form>
  </main>`}function dt({approval:t,onDecided:e}){let[{data:n,error:r}]=C(`/approvals/${t.id}`),[{data:s}]=C(`/nhi/agents/${t.principal_id}`),[o,a]=y(""),[c,l]=y(null),i=async d=>{try{await E("POST",`/approvals/${t.id}/${d}`,{comment:o||void 0}),e()}catch(h){l(h)}};return u`<article class="card approval" data-approval=${t.id}>
    <header><strong>${t.tool}</strong> <span class="muted">requested <${x} at=${t.created_at} /></span></header>
    <dl>
      <dt>Agent</dt><dd><a href=${`#/registry/agents/${t.principal_id}`}>${s?.name||t.principal_id}</a></dd>
      <dt>Owner</dt><dd>${s?.owner_id||"\u2014"}</dd>
      ${t.chain.length?u`<dt>Delegation chain</dt><dd>${t.chain.join(" \u2192 ")}</dd>`:null}
      ${t.on_behalf_of?u`<dt>On behalf of</dt><dd>${t.on_behalf_of}</dd>`:null}
      <dt>Policies</dt><dd>${t.policies.join(", ")}</dd>
      <dt>Expires</dt><dd><${x} at=${t.expires_at} /></dd>
    </dl>
    <h3>Arguments</h3>
    ${n?u`<${ct} value=${n.arguments} />`:u`<${w} error=${r} />`}
    <label>Comment <input value=${o} onInput=${d=>a(d.target.value)} /></label>
    <div class="actions">
      <button class="approve" onClick=${()=>i("approve")}>Approve</button>
      <button class="deny" onClick=${()=>i("deny")}>Deny</button>
    </div>
    <${w} error=${c} />
  </article>`}function pt(){let[{data:t,error:e},n]=C("/approvals?status=pending",2e3),[{data:r},s]=C("/approvals?status=approved&limit=20",5e3),[{data:o},a]=C("/approvals?status=denied&limit=20",5e3),c=()=>{n(),s(),a()},l=[...r?.items||[],...o?.items||[]].sort((i,d)=>(d.decided_at||"").localeCompare(i.decided_at||""));return u`<section>
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
          <td>${i.decided_by||"\u2014"}</td><td><${x} at=${i.decided_at} /></td><td>${i.comment||""}</td>
        </tr>`)}
      </tbody>
    </table>
  </section>`}var M=20;function ht({kind:t}){let[e,n]=y(""),[r,s]=y(0),o=`limit=${M}&offset=${r}${e?`&search=${encodeURIComponent(e)}`:""}`,[{data:a,error:c}]=C(`/nhi/${t}?${o}`);return u`<section>
    <nav class="tabs">
      ${Object.entries(fe).map(([l,i])=>u`<a href=${`#/registry/${l}`} class=${l===t?"active":""}>${i}</a>`)}
    </nav>
    <input type="search" placeholder="Search by name or description" aria-label="Search" value=${e}
      onInput=${l=>{n(l.target.value),s(0)}} />
    <${w} error=${c} />
    <table class="registry">
      <thead><tr><th>Name</th><th>State</th><th>Risk</th><th>Owner</th><th>Last used</th></tr></thead>
      <tbody>
        ${(a?.items||[]).map(l=>u`<tr key=${l.id}>
          <td><a href=${`#/registry/${t}/${l.id}`}>${l.name}</a></td>
          <td class=${`state ${l.lifecycle_state}`}>${l.lifecycle_state}</td>
          <td class=${`risk ${l.risk?.level||l.risk_level}`}>${l.risk?.level||l.risk_level}</td>
          <td>${l.owner_id||"\u2014"}</td><td><${x} at=${l.last_used_at} /></td>
        </tr>`)}
      </tbody>
    </table>
    ${a?u`<p class="pager">
      <button disabled=${r===0} onClick=${()=>s(Math.max(0,r-M))}>Previous</button>
      ${a.total?`${r+1}\u2013${Math.min(r+M,a.total)} of ${a.total}`:"none"}
      <button disabled=${r+M>=a.total} onClick=${()=>s(r+M)}>Next</button>
    </p>`:null}
  </section>`}function ft({nhi:t,kind:e,onChanged:n}){let[r,s]=y(""),[o,a]=y(null),c=t.lifecycle_state==="suspended"?"reactivate":"suspend",l=async i=>{i.preventDefault();try{await E("POST",`/nhi/${e}/${t.id}/${c}`,{reason:r}),s(""),n()}catch(d){a(d)}};return["active","suspended"].includes(t.lifecycle_state)?u`<form class="lifecycle" onSubmit=${l}>
    <label>Reason <input value=${r} onInput=${i=>s(i.target.value)} required /></label>
    <button type="submit" class=${c}>${c==="suspend"?"Suspend":"Reactivate"}</button>
    <${w} error=${o} />
  </form>`:null}function R({title:t,path:e,show:n}){let[{data:r,error:s}]=C(e);return u`<div class="related">
    <h3>${t} <span class="count">${r?r.total:"\u2026"}</span></h3>
    <${w} error=${s} />
    <ul>${(r?.items||[]).map((o,a)=>u`<li key=${a}>${n(o)}</li>`)}</ul>
  </div>`}function $t({kind:t,id:e}){let[{data:n,error:r},s]=C(`/nhi/${t}/${e}`);return n?u`<section class="detail">
    <p><a href=${`#/registry/${t}`}>← ${fe[t]}</a></p>
    <h2>${n.name} <span class=${`state ${n.lifecycle_state}`}>${n.lifecycle_state}</span></h2>
    ${n.lifecycle_reason?u`<p class="muted">${n.lifecycle_reason}</p>`:null}
    <dl>
      <dt>Id</dt><dd><code>${n.id}</code></dd>
      <dt>Owner</dt><dd>${n.owner_id||"\u2014"}</dd>
      <dt>Description</dt><dd>${n.description||"\u2014"}</dd>
      <dt>Risk</dt><dd class=${`risk ${n.risk?.level}`}>${n.risk?.level} (${n.risk?.score})
        ${(n.risk?.factors||[]).length?u` — ${n.risk.factors.map(o=>`${o.factor} +${o.points}`).join(", ")}`:null}</dd>
      <dt>Last used</dt><dd><${x} at=${n.last_used_at} /></dd>
    </dl>
    <${ft} nhi=${n} kind=${t} onChanged=${s} />
    ${t==="agents"?u`<${R} title="Tool grants" path=${`/nhi/agents/${e}/tools`} show=${o=>o.upstream?`${o.name} (${o.upstream})`:o.name} />`:null}
    ${t==="tools"?u`<${R} title="Granted to" path=${`/nhi/tools/${e}/agents`} show=${o=>o.name} />`:null}
    ${t!=="tools"?u`<${R} title="May call or delegate to" path=${`/nhi/${e}/callees`} show=${o=>`${o.nhi.name} (${o.permission_type})`} />`:null}
    <${R} title="Called or delegated to by" path=${`/nhi/${e}/callers`} show=${o=>`${o.nhi.name} (${o.permission_type})`} />
    <${R} title="User permissions" path=${`/nhi/${e}/users`} show=${o=>`${o.user_id}: ${o.permission_level}`} />
    <${R} title="Leases held or granted" path=${`/nhi/${e}/vault/leases`}
      show=${o=>u`${o.consumer_nhi_id===e?"holds":"grants"} secret <code>${o.secret_id}</code>
        ${o.consumer_nhi_id===e?"":u` to <code>${o.consumer_nhi_id}</code>`} — ${o.active?u`until <${x} at=${o.expires_at} />`:"ended"}`} />
    <${mt} id=${e} />
  </section>`:u`<${w} error=${r} />`}function mt({id:t}){let[{data:e,error:n}]=C(`/audit?principal=${encodeURIComponent(t)}&limit=10`);return u`<div class="related">
    <h3>Recent activity</h3>
    <${w} error=${n} />
    ${e&&e.items.length===0?u`<p class="muted">No audit events.</p>`:null}
    <table class="audit">
      <tbody>${(e?.items||[]).map((r,s)=>u`<tr key=${s}>
        <td><${x} at=${r.time} /></td><td>${r.event||r.method||""}</td>
        <td>${r.tool||r.target||""}</td><td class=${r.decision||""}>${r.decision||""}</td><td>${r.status??""}</td>
      </tr>`)}</tbody>
    </table>
  </div>`}function Je({title:t,counts:e,order:n}){let r=Object.entries(e||{});n&&r.sort(([o],[a])=>n.indexOf(o)-n.indexOf(a));let s=Math.max(1,...r.map(([,o])=>o));return u`<figure class="bars">
    <figcaption>${t}</figcaption>
    ${r.map(([o,a])=>u`<div class="bar" key=${o}>
      <span class="label">${o}</span>
      <span class=${`fill ${o}`} style=${{width:`${100*a/s}%`}}></span>
      <span class="n">${a}</span>
    </div>`)}
  </figure>`}function vt(){let[{data:t,error:e}]=C("/nhi/risk-summary",1e4);return u`<section>
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
  </section>`}var Ye={ai_agent:"Agents",service_account:"Service accounts",tool:"Tools"};function gt({onCreated:t}){let[e,n]=y({name:"",types:["ai_agent"],risk_min:"",reviewer_id:"",due_date:"",due_rule:"revoke"}),[r,s]=y(null),o=l=>i=>n({...e,[l]:i.target.value}),a=l=>n({...e,types:e.types.includes(l)?e.types.filter(i=>i!==l):[...e.types,l]});return u`<form class="card campaign-form" onSubmit=${async l=>{l.preventDefault();try{let i={name:e.name,nhi_types:e.types,due_date:e.due_date,due_rule:e.due_rule};e.risk_min&&(i.risk_min=e.risk_min),e.reviewer_id&&(i.reviewer_id=e.reviewer_id);let d=await E("POST","/nhi/certifications",i);location.hash=`#/campaigns/${d.id}`,t()}catch(i){s(i)}}}>
    <h3>New campaign</h3>
    <label>Name <input name="name" value=${e.name} onInput=${o("name")} required /></label>
    <fieldset><legend>Reviews</legend>
      ${Object.entries(Ye).map(([l,i])=>u`<label key=${l}><input type="checkbox" checked=${e.types.includes(l)} onChange=${()=>a(l)} /> ${i}</label>`)}
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
  </form>`}function yt(){let[{data:t,error:e},n]=C("/nhi/certifications");return u`<section>
    <h2>Certification campaigns</h2>
    <${w} error=${e} />
    <table class="campaigns">
      <thead><tr><th>Name</th><th>Status</th><th>Due</th><th>Decided</th></tr></thead>
      <tbody>${(t?.items||[]).map(r=>u`<tr key=${r.id}>
        <td><a href=${`#/campaigns/${r.id}`}>${r.name}</a></td><td class=${`status ${r.status}`}>${r.status}</td>
        <td><${x} at=${r.due_date} /></td><td>${r.decided} / ${r.items}</td>
      </tr>`)}</tbody>
    </table>
    <${gt} onCreated=${n} />
  </section>`}function Ke({campaign:t,item:e,onDecided:n}){let[r,s]=y(""),[o,a]=y(null),c=async i=>{try{await E("POST",`/nhi/certifications/${t.id}/${i}/${e.nhi_id}`,{comment:r||void 0}),n()}catch(d){a(d)}},l=new Set(e.unused_grants);return u`<article class="card item" data-item=${e.name}>
    <header><strong>${e.name}</strong> <span class="muted">${Ye[e.nhi_type]||e.nhi_type}</span>
      ${e.decision?u` <span class=${`decision ${e.decision}`}>${e.decision}</span>`:null}</header>
    <dl>
      <dt>Last used</dt><dd><${x} at=${e.last_used_at} /></dd>
      <dt>Grants</dt><dd>${e.grants.length?e.grants.map(i=>u`<span class=${l.has(i.id)?"grant unused":"grant"} key=${i.id}>${i.name}${l.has(i.id)?" (unused 30 days)":""}</span>`):"none"}</dd>
      ${e.decision?u`<dt>Decided</dt><dd>${e.by_rule?"by the due-date rule":e.decided_by} <${x} at=${e.decided_at} />${e.comment?` \u2014 ${e.comment}`:""}</dd>`:null}
    </dl>
    ${!e.decision&&t.status==="active"?u`
      <label>Comment <input value=${r} onInput=${i=>s(i.target.value)} /></label>
      <div class="actions">
        <button class="approve" onClick=${()=>c("certify")}>Certify</button>
        <button class="deny" onClick=${()=>c("revoke")}>Revoke</button>
      </div>`:null}
    <${w} error=${o} />
  </article>`}function bt({id:t}){let[{data:e,error:n},r]=C(`/nhi/certifications/${t}`),[s,o]=y(null),a=async l=>{try{await E("POST",`/nhi/certifications/${t}/${l}`),r()}catch(i){o(i)}};if(!e)return u`<${w} error=${n} />`;let c=e.items.filter(l=>!l.decision);return u`<section class="campaign">
    <p><a href="#/campaigns">← Campaigns</a></p>
    <h2>${e.name} <span class=${`status ${e.status}`}>${e.status}</span></h2>
    <p class="progress">${e.progress?`${e.progress.decided} of ${e.progress.total} decided`:""}
      <progress max=${e.progress?.total||1} value=${e.progress?.decided||0}></progress></p>
    <p class="muted">Due <${x} at=${e.due_date} />; open items then are ${e.due_rule==="certify"?"certified":"revoked"}.</p>
    <div class="actions">
      ${e.status==="draft"?u`<button onClick=${()=>a("launch")}>Launch</button>`:null}
      ${["draft","active"].includes(e.status)?u`<button onClick=${()=>a("cancel")}>Cancel campaign</button>`:null}
    </div>
    <${w} error=${s} />
    ${c.length?u`<h3>To review <span class="count">${c.length}</span></h3>`:null}
    ${c.map(l=>u`<${Ke} key=${l.nhi_id} campaign=${e} item=${l} onDecided=${r} />`)}
    ${e.items.length>c.length?u`<h3>Decided</h3>`:null}
    ${e.items.filter(l=>l.decision).map(l=>u`<${Ke} key=${l.nhi_id} campaign=${e} item=${l} onDecided=${r} />`)}
  </section>`}function kt(){let[t,e]=y({decision:"",principal:"",tool:"",event:""}),[n,r]=y(""),s=Object.entries({...t,cursor:n,limit:"50"}).filter(([,l])=>l).map(([l,i])=>`${l}=${encodeURIComponent(i)}`).join("&"),[{data:o,error:a}]=C(`/audit?${s}`),c=l=>i=>{e({...t,[l]:i.target.value}),r("")};return u`<section>
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
    <${w} error=${a} />
    <table class="audit">
      <thead><tr><th>Time</th><th>What</th><th>Who</th><th>Tool or target</th><th>Decision</th><th>Status</th></tr></thead>
      <tbody>${(o?.items||[]).map((l,i)=>u`<tr key=${i}>
        <td><${x} at=${l.time} /></td><td>${l.event||l.method||""}</td><td>${l.actor||l.approver||l.principal||""}</td>
        <td>${l.tool||l.target||l.campaign||l.approval||""}</td><td class=${l.decision||""}>${l.decision||""}</td><td>${l.status??""}</td>
      </tr>`)}</tbody>
    </table>
    <p class="pager">
      ${n?u`<button onClick=${()=>r("")}>Newest</button>`:null}
      ${o?.next_cursor?u`<button onClick=${()=>r(o.next_cursor)}>Older</button>`:null}
    </p>
  </section>`}function wt(){let[{data:t,error:e}]=C("/policies?limit=500"),[{data:n}]=C("/readyz",1e4),r=n?.policy;return u`<section>
    <h2>Policies <span class="count">${t?t.total:""}</span></h2>
    ${r?u`<p class=${r.last_error?"reload failing":"reload"}>
      Serving set ${r.epoch}: ${r.reloads} reloads, ${r.failures} failed.
      ${r.last_error?u`<br />The last reload failed, the previous set still serves: <code>${r.last_error}</code>`:""}
    </p>`:null}
    <${w} error=${e} />
    ${t?u`<table class="policies">
      <thead><tr><th>Id</th><th>Effect</th><th>Obligation</th><th>Where</th></tr></thead>
      <tbody>${t.items.map(s=>u`<tr key=${s.id}>
        <td><code>${s.id}</code></td><td class=${s.effect}>${s.effect}</td><td>${s.obligation||""}</td>
        <td><code>${s.file}:${s.line}</code></td>
      </tr>`)}</tbody>
    </table>`:null}
  </section>`}function Ct(){let[t,e]=y(!!sessionStorage.getItem(W)),[n,r,s]=_t();if(!t)return u`<${ut} onIn=${()=>e(!0)} />`;let o=()=>{sessionStorage.removeItem(W),location.hash="#/approvals",e(!1)},a;if(n==="registry"){let c=fe[r]?r:"agents";a=s?u`<${$t} kind=${c} id=${s} />`:u`<${ht} key=${c} kind=${c} />`}else n==="risk"?a=u`<${vt} />`:n==="campaigns"?a=r?u`<${bt} key=${r} id=${r} />`:u`<${yt} />`:n==="audit"?a=u`<${kt} />`:n==="policies"?a=u`<${wt} />`:a=u`<${pt} />`;return u`<div class="shell">
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
    <main>${a}</main>
  </div>`}Ae(u`<${Ct} />`,document.getElementById("app"));

var Y,f,be,Ze,I,me,ke,we,ne,B,F,Ce,se,oe,re,et,z={},J=[],tt=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,Q=Array.isArray;function D(t,e){for(var n in e)t[n]=e[n];return t}function ae(t){t&&t.parentNode&&t.parentNode.removeChild(t)}function ie(t,e,n){var o,s,r,a={};for(r in e)r=="key"?o=e[r]:r=="ref"?s=e[r]:a[r]=e[r];if(arguments.length>2&&(a.children=arguments.length>3?Y.call(arguments,2):n),typeof t=="function"&&t.defaultProps!=null)for(r in t.defaultProps)a[r]===void 0&&(a[r]=t.defaultProps[r]);return V(t,a,o,s,null)}function V(t,e,n,o,s){var r={type:t,props:e,key:n,ref:o,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:s??++be,__i:-1,__u:0};return s==null&&f.vnode!=null&&f.vnode(r),r}function X(t){return t.children}function G(t,e){this.props=t,this.context=e}function A(t,e){if(e==null)return t.__?A(t.__,t.__i+1):null;for(var n;e<t.__k.length;e++)if((n=t.__k[e])!=null&&n.__e!=null)return n.__e;return typeof t.type=="function"?A(t):null}function nt(t){if(t.__P&&t.__d){var e=t.__v,n=e.__e,o=[],s=[],r=D({},e);r.__v=e.__v+1,f.vnode&&f.vnode(r),le(t.__P,r,e,t.__n,t.__P.namespaceURI,32&e.__u?[n]:null,o,n??A(e),!!(32&e.__u),s),r.__v=e.__v,r.__.__k[r.__i]=r,De(o,r,s),e.__e=e.__=null,r.__e!=n&&xe(r)}}function xe(t){if((t=t.__)!=null&&t.__c!=null)return t.__e=t.__c.base=null,t.__k.some(function(e){if(e!=null&&e.__e!=null)return t.__e=t.__c.base=e.__e}),xe(t)}function ve(t){(!t.__d&&(t.__d=!0)&&I.push(t)&&!K.__r++||me!=f.debounceRendering)&&((me=f.debounceRendering)||ke)(K)}function K(){try{for(var t,e=1;I.length;)I.length>e&&I.sort(we),t=I.shift(),e=I.length,nt(t)}finally{I.length=K.__r=0}}function Se(t,e,n,o,s,r,a,c,l,i,u){var h,_,p,m,S,k,b=o&&o.__k||J,$=e.length;for(l=ot(n,e,b,l,$),h=0;h<$;h++)(p=n.__k[h])!=null&&(_=p.__i!=-1&&b[p.__i]||z,p.__i=h,k=le(t,p,_,s,r,a,c,l,i,u),m=p.__e,p.ref&&_.ref!=p.ref&&(_.ref&&_e(_.ref,null,p),u.push(p.ref,p.__c||m,p)),S==null&&m!=null&&(S=m),4&p.__u?(l=Pe(p,l,t),_.__e&&(_.__e=null)):typeof p.type=="function"&&k!==void 0?l=k:m&&(l=m.nextSibling),p.__u&=-7);return n.__e=S,l}function ot(t,e,n,o,s){var r,a,c,l,i,u=n.length,h=u,_=0;for(t.__k=new Array(s),r=0;r<s;r++)(a=e[r])!=null&&typeof a!="boolean"&&typeof a!="function"?(typeof a=="string"||typeof a=="number"||typeof a=="bigint"||a.constructor==String?a=t.__k[r]=V(null,a,null,null,null):Q(a)?a=t.__k[r]=V(X,{children:a},null,null,null):a.constructor===void 0&&a.__b>0?a=t.__k[r]=V(a.type,a.props,a.key,a.ref?a.ref:null,a.__v):t.__k[r]=a,l=r+_,a.__=t,a.__b=t.__b+1,c=null,(i=a.__i=rt(a,n,l,h))!=-1&&(h--,(c=n[i])&&(c.__u|=2)),c==null||c.__v==null?(i==-1&&(s>u?_--:s<u&&_++),typeof a.type!="function"&&(a.__u|=4)):i!=l&&(i==l-1?_--:i==l+1?_++:(i>l?_--:_++,a.__u|=4))):t.__k[r]=null;if(h)for(r=0;r<u;r++)(c=n[r])!=null&&(2&c.__u)==0&&(c.__e==o&&(o=A(c)),Ne(c,c));return o}function Pe(t,e,n){var o,s;if(typeof t.type=="function"){for(o=t.__k,s=0;o&&s<o.length;s++)o[s]&&(o[s].__=t,e=Pe(o[s],e,n));return e}t.__e!=e&&(e&&t.type&&!e.parentNode&&(e=A(t)),e=n.insertBefore(t.__e,e||null));do e=e&&e.nextSibling;while(e!=null&&e.nodeType==8);return e}function rt(t,e,n,o){var s,r,a,c=t.key,l=t.type,i=e[n],u=i!=null&&(2&i.__u)==0;if(i===null&&c==null||u&&c==i.key&&l==i.type)return n;if(o>(u?1:0)){for(s=n-1,r=n+1;s>=0||r<e.length;)if((i=e[a=s>=0?s--:r++])!=null&&(2&i.__u)==0&&c==i.key&&l==i.type)return a}return-1}function ge(t,e,n){e[0]=="-"?t.setProperty(e,n??""):t[e]=n==null?"":typeof n!="number"||tt.test(e)?n:n+"px"}function q(t,e,n,o,s){var r,a;e:if(e=="style")if(typeof n=="string")t.style.cssText=n;else{if(typeof o=="string"&&(t.style.cssText=o=""),o)for(e in o)n&&e in n||ge(t.style,e,"");if(n)for(e in n)o&&n[e]==o[e]||ge(t.style,e,n[e])}else if(e[0]=="o"&&e[1]=="n")r=e!=(e=e.replace(Ce,"$1")),a=e.toLowerCase(),e=a in t||e=="onFocusOut"||e=="onFocusIn"?a.slice(2):e.slice(2),t.l||(t.l={}),t.l[e+r]=n,n?o?n[F]=o[F]:(n[F]=se,t.addEventListener(e,r?re:oe,r)):t.removeEventListener(e,r?re:oe,r);else{if(s=="http://www.w3.org/2000/svg")e=e.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(e!="width"&&e!="height"&&e!="href"&&e!="list"&&e!="form"&&e!="tabIndex"&&e!="download"&&e!="rowSpan"&&e!="colSpan"&&e!="role"&&e!="popover"&&e in t)try{t[e]=n??"";break e}catch{}typeof n=="function"||(n==null||n===!1&&e[4]!="-"?t.removeAttribute(e):t.setAttribute(e,e=="popover"&&n==1?"":n))}}function ye(t){return function(e){if(this.l){var n=this.l[e.type+t];if(e[B]==null)e[B]=se++;else if(e[B]<n[F])return;return n(f.event?f.event(e):e)}}}function le(t,e,n,o,s,r,a,c,l,i){var u,h,_,p,m,S,k,b,$,P,O,N,U,fe,j,te,T=e.type;if(e.constructor!==void 0)return null;128&n.__u&&(l=!!(32&n.__u),r=[c=e.__e=n.__e]),(u=f.__b)&&u(e);e:if(typeof T=="function"){h=a.length;try{if($=e.props,P=T.prototype&&T.prototype.render,O=(u=T.contextType)&&o[u.__c],N=u?O?O.props.value:u.__:o,n.__c?b=(_=e.__c=n.__c).__=_.__E:(P?e.__c=_=new T($,N):(e.__c=_=new G($,N),_.constructor=T,_.render=at),O&&O.sub(_),_.state||(_.state={}),_.__n=o,p=_.__d=!0,_.__h=[],_._sb=[]),P&&_.__s==null&&(_.__s=_.state),P&&T.getDerivedStateFromProps!=null&&(_.__s==_.state&&(_.__s=D({},_.__s)),D(_.__s,T.getDerivedStateFromProps($,_.__s))),m=_.props,S=_.state,_.__v=e,p)P&&T.getDerivedStateFromProps==null&&_.componentWillMount!=null&&_.componentWillMount(),P&&_.componentDidMount!=null&&_.__h.push(_.componentDidMount);else{if(P&&T.getDerivedStateFromProps==null&&$!==m&&_.componentWillReceiveProps!=null&&_.componentWillReceiveProps($,N),e.__v==n.__v||!_.__e&&_.shouldComponentUpdate!=null&&_.shouldComponentUpdate($,_.__s,N)===!1){e.__v!=n.__v&&(_.props=$,_.state=_.__s,_.__d=!1),e.__e=n.__e,e.__k=n.__k,e.__k.some(function(E){E&&(E.__=e)}),J.push.apply(_.__h,_._sb),_._sb=[],_.__h.length&&a.push(_),c=A(n);break e}_.componentWillUpdate!=null&&_.componentWillUpdate($,_.__s,N),P&&_.componentDidUpdate!=null&&_.__h.push(function(){_.componentDidUpdate(m,S,k)})}if(_.context=N,_.props=$,_.__P=t,_.__e=!1,U=f.__r,fe=0,P)_.state=_.__s,_.__d=!1,U&&U(e),u=_.render(_.props,_.state,_.context),J.push.apply(_.__h,_._sb),_._sb=[];else do _.__d=!1,U&&U(e),u=_.render(_.props,_.state,_.context),_.state=_.__s;while(_.__d&&++fe<25);_.state=_.__s,_.getChildContext!=null&&(o=D(D({},o),_.getChildContext())),P&&!p&&_.getSnapshotBeforeUpdate!=null&&(k=_.getSnapshotBeforeUpdate(m,S)),j=u!=null&&u.type===X&&u.key==null?Ie(u.props.children):u,c=Se(t,Q(j)?j:[j],e,n,o,s,r,a,c,l,i),_.base=e.__e,e.__u&=-161,_.__h.length&&a.push(_),b&&(_.__E=_.__=null)}catch(E){if(a.length=h,e.__v=null,l||r!=null){if(E.then){for(e.__u|=l?160:128;c&&c.nodeType==8&&c.nextSibling;)c=c.nextSibling;r!=null&&(r[r.indexOf(c)]=null),e.__e=c}else if(r!=null)for(te=r.length;te--;)ae(r[te])}else e.__e=n.__e;e.__k==null&&(e.__k=n.__k||[]),E.then||Te(e),f.__e(E,e,n)}}else r==null&&e.__v==n.__v?(e.__k=n.__k,e.__e=n.__e):c=e.__e=st(n.__e,e,n,o,s,r,a,l,i);return(u=f.diffed)&&u(e),128&e.__u?void 0:c}function Te(t){t&&(t.__c&&(t.__c.__e=!0),t.__k&&t.__k.some(Te))}function De(t,e,n){for(var o=0;o<n.length;o++)_e(n[o],n[++o],n[++o]);f.__c&&f.__c(e,t),t.some(function(s){try{t=s.__h,s.__h=[],t.some(function(r){r.call(s)})}catch(r){f.__e(r,s.__v)}})}function Ie(t){return typeof t!="object"||t==null||t.__b>0?t:Q(t)?t.map(Ie):t.constructor!==void 0?null:D({},t)}function st(t,e,n,o,s,r,a,c,l){var i,u,h,_,p,m,S,k=n.props||z,b=e.props,$=e.type;if($=="svg"?s="http://www.w3.org/2000/svg":$=="math"?s="http://www.w3.org/1998/Math/MathML":s||(s="http://www.w3.org/1999/xhtml"),r!=null){for(i=0;i<r.length;i++)if((p=r[i])&&"setAttribute"in p==!!$&&($?p.localName==$:p.nodeType==3)){t=p,r[i]=null;break}}if(t==null){if($==null)return document.createTextNode(b);t=document.createElementNS(s,$,b.is&&b),c&&(f.__m&&f.__m(e,r),c=!1),r=null}if($==null)k===b||c&&t.data==b||(t.data=b);else{if(r=$=="textarea"&&b.defaultValue!=null?null:r&&Y.call(t.childNodes),!c&&r!=null)for(k={},i=0;i<t.attributes.length;i++)k[(p=t.attributes[i]).name]=p.value;for(i in k)p=k[i],i=="dangerouslySetInnerHTML"?h=p:i=="children"||i in b||i=="value"&&"defaultValue"in b||i=="checked"&&"defaultChecked"in b||q(t,i,null,p,s);for(i in b)p=b[i],i=="children"?_=p:i=="dangerouslySetInnerHTML"?u=p:i=="value"?m=p:i=="checked"?S=p:c&&typeof p!="function"||k[i]===p||q(t,i,p,k[i],s);if(u)c||h&&(u.__html==h.__html||u.__html==t.innerHTML)||(t.innerHTML=u.__html),e.__k=[];else if(h&&(t.innerHTML=""),Se(e.type=="template"?t.content:t,Q(_)?_:[_],e,n,o,$=="foreignObject"?"http://www.w3.org/1999/xhtml":s,r,a,r?r[0]:n.__k&&A(n,0),c,l),r!=null)for(i=r.length;i--;)ae(r[i]);c&&$!="textarea"||(i="value",$=="progress"&&m==null?t.removeAttribute("value"):m!=null&&(m!==t[i]||$=="progress"&&!m||$=="option"&&m!=k[i])&&q(t,i,m,k[i],s),i="checked",S!=null&&S!=t[i]&&q(t,i,S,k[i],s))}return t}function _e(t,e,n){try{if(typeof t=="function"){var o=typeof t.__u=="function";o&&t.__u(),o&&e==null||(t.__u=t(e))}else t.current=e}catch(s){f.__e(s,n)}}function Ne(t,e,n){var o,s;if(f.unmount&&f.unmount(t),(o=t.ref)&&(o.current&&o.current!=t.__e||_e(o,null,e)),(o=t.__c)!=null){if(o.componentWillUnmount)try{o.componentWillUnmount()}catch(r){f.__e(r,e)}o.base=o.__P=o.__n=null}if(o=t.__k)for(s=0;s<o.length;s++)o[s]&&Ne(o[s],e,n||typeof t.type!="function");n||ae(t.__e),t.__c=t.__=t.__e=void 0}function at(t,e,n){return this.constructor(t,n)}function Ae(t,e,n){var o,s,r,a;e==document&&(e=document.documentElement),f.__&&f.__(t,e),s=(o=typeof n=="function")?null:n&&n.__k||e.__k,r=[],a=[],le(e,t=(!o&&n||e).__k=ie(X,null,[t]),s||z,z,e.namespaceURI,!o&&n?[n]:s?null:e.firstChild?Y.call(e.childNodes):null,r,!o&&n?n:s?s.__e:e.firstChild,o,a),De(r,t,a),t.props.children=null}Y=J.slice,f={__e:function(t,e,n,o){for(var s,r,a;e=e.__;)if((s=e.__c)&&!s.__)try{if((r=s.constructor)&&r.getDerivedStateFromError!=null&&(s.setState(r.getDerivedStateFromError(t)),a=s.__d),s.componentDidCatch!=null&&(s.componentDidCatch(t,o||{}),a=s.__d),a)return s.__E=s}catch(c){t=c}throw t}},be=0,Ze=function(t){return t!=null&&t.constructor===void 0},G.prototype.setState=function(t,e){var n;n=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=D({},this.state),typeof t=="function"&&(t=t(D({},n),this.props)),t&&D(n,t),t!=null&&this.__v&&(e&&this._sb.push(e),ve(this))},G.prototype.forceUpdate=function(t){this.__v&&(this.__e=!0,t&&this.__h.push(t),ve(this))},G.prototype.render=X,I=[],ke=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,we=function(t,e){return t.__v.__b-e.__v.__b},K.__r=0,ne=Math.random().toString(8),B="__d"+ne,F="__a"+ne,Ce=/(PointerCapture)$|Capture$/i,se=0,oe=ye(!1),re=ye(!0),et=0;var L,v,ce,He,ee=0,We=[],g=f,Ee=g.__b,Re=g.__r,Oe=g.diffed,Ue=g.__c,Fe=g.unmount,Le=g.__;function ue(t,e){g.__h&&g.__h(v,t,ee||e),ee=0;var n=v.__H||(v.__H={__:[],__h:[]});return t>=n.__.length&&n.__.push({}),n.__[t]}function y(t){return ee=1,it(Be,t)}function it(t,e,n){var o=ue(L++,2);if(o.t=t,!o.__c&&(o.__=[n?n(e):Be(void 0,e),function(c){var l=o.__N?o.__N[0]:o.__[0],i=o.t(l,c);l!==i&&(o.__N=[i,o.__[1]],o.__c.setState({}))}],o.__c=v,!v.__f)){var s=function(c,l,i){if(!o.__c.__H)return!0;var u=!1,h=o.__c.props!==c;if(o.__c.__H.__.some(function(p){if(p.__N){u=!0;var m=p.__[0];p.__=p.__N,p.__N=void 0,m!==p.__[0]&&(h=!0)}}),r){var _=r.call(this,c,l,i);return u?_||h:_}return!u||h};v.__f=!0;var r=v.shouldComponentUpdate,a=v.componentWillUpdate;v.componentWillUpdate=function(c,l,i){if(this.__e){var u=r;r=void 0,s(c,l,i),r=u}a&&a.call(this,c,l,i)},v.shouldComponentUpdate=s}return o.__N||o.__}function pe(t,e){var n=ue(L++,3);!g.__s&&qe(n.__H,e)&&(n.__=t,n.u=e,v.__H.__h.push(n))}function lt(t,e){var n=ue(L++,7);return qe(n.__H,e)&&(n.__=t(),n.__H=e,n.__h=t),n.__}function je(t,e){return ee=8,lt(function(){return t},e)}function _t(){for(var t;t=We.shift();){var e=t.__H;if(t.__P&&e)try{e.__h.some(Z),e.__h.some(de),e.__h=[]}catch(n){e.__h=[],g.__e(n,t.__v)}}}g.__b=function(t){v=null,Ee&&Ee(t)},g.__=function(t,e){t&&e.__k&&e.__k.__m&&(t.__m=e.__k.__m),Le&&Le(t,e)},g.__r=function(t){Re&&Re(t),L=0;var e=(v=t.__c).__H;e&&(ce===v?(e.__h=[],v.__h=[],e.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})):(e.__h.some(Z),e.__h.some(de),e.__h=[],L=0)),ce=v},g.diffed=function(t){Oe&&Oe(t);var e=t.__c;e&&e.__H&&(e.__H.__h.length&&(We.push(e)!==1&&He===g.requestAnimationFrame||((He=g.requestAnimationFrame)||ct)(_t)),e.__H.__.some(function(n){n.u&&(n.__H=n.u,n.u=void 0)})),ce=v=null},g.__c=function(t,e){e.some(function(n){try{n.__h.some(Z),n.__h=n.__h.filter(function(o){return!o.__||de(o)})}catch(o){e.some(function(s){s.__h&&(s.__h=[])}),e=[],g.__e(o,n.__v)}}),Ue&&Ue(t,e)},g.unmount=function(t){Fe&&Fe(t);var e,n=t.__c;n&&n.__H&&(n.__H.__.some(function(o){try{Z(o)}catch(s){e=s}}),n.__H=void 0,e&&g.__e(e,n.__v))};var Me=typeof requestAnimationFrame=="function";function ct(t){var e,n=function(){clearTimeout(o),Me&&cancelAnimationFrame(e),setTimeout(t)},o=setTimeout(n,35);Me&&(e=requestAnimationFrame(n))}function Z(t){var e=v,n=t.__c;typeof n=="function"&&(t.__c=void 0,n()),v=e}function de(t){var e=v;t.__c=t.__(),v=e}function qe(t,e){return!t||t.length!==e.length||e.some(function(n,o){return n!==t[o]})}function Be(t,e){return typeof e=="function"?e(t):e}var Ge=function(t,e,n,o){var s;e[0]=0;for(var r=1;r<e.length;r++){var a=e[r++],c=e[r]?(e[0]|=a?1:2,n[e[r++]]):e[++r];a===3?o[0]=c:a===4?o[1]=Object.assign(o[1]||{},c):a===5?(o[1]=o[1]||{})[e[++r]]=c:a===6?o[1][e[++r]]+=c+"":a?(s=t.apply(c,Ge(t,c,n,["",null])),o.push(s),c[0]?e[0]|=2:(e[r-2]=0,e[r]=s)):o.push(c)}return o},Ve=new Map;function ze(t){var e=Ve.get(this);return e||(e=new Map,Ve.set(this,e)),(e=Ge(this,e.get(t)||(e.set(t,e=(function(n){for(var o,s,r=1,a="",c="",l=[0],i=function(_){r===1&&(_||(a=a.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?l.push(0,_,a):r===3&&(_||a)?(l.push(3,_,a),r=2):r===2&&a==="..."&&_?l.push(4,_,0):r===2&&a&&!_?l.push(5,0,!0,a):r>=5&&((a||!_&&r===5)&&(l.push(r,0,a,s),r=6),_&&(l.push(r,_,0,s),r=6)),a=""},u=0;u<n.length;u++){u&&(r===1&&i(),i(u));for(var h=0;h<n[u].length;h++)o=n[u][h],r===1?o==="<"?(i(),l=[l],r=3):a+=o:r===4?a==="--"&&o===">"?(r=1,a=""):a=o+a[0]:c?o===c?c="":a+=o:o==='"'||o==="'"?c=o:o===">"?(i(),r=1):r&&(o==="="?(r=5,s=a,a=""):o==="/"&&(r<5||n[u][h+1]===">")?(i(),r===3&&(l=l[0]),r=l,(l=l[0]).push(2,0,r),r=0):o===" "||o==="	"||o===`
`||o==="\r"?(i(),r=2):a+=o),r===3&&a==="!--"&&(r=4,l=l[0])}return i(),l})(t)),e),arguments,[])).length>1?e:e[0]}var d=ze.bind(ie),W="portcullis.token",he=class extends Error{constructor(e,n){super(n?.message||`HTTP ${e}`),this.status=e}};async function H(t,e,n){let o={Authorization:`Bearer ${sessionStorage.getItem(W)||""}`};n!==void 0&&(o["Content-Type"]="application/json");let s=await fetch(e,{method:t,headers:o,body:n===void 0?void 0:JSON.stringify(n),credentials:"omit",cache:"no-store"}),r=await s.text(),a=r?JSON.parse(r):null;if(!s.ok)throw new he(s.status,a);return a}function C(t,e){let[n,o]=y({data:null,error:null}),s=je(()=>{H("GET",t).then(r=>o({data:r,error:null}),r=>o(a=>({data:a.data,error:r})))},[t]);return pe(()=>{if(s(),!e)return;let r=setInterval(s,e);return()=>clearInterval(r)},[s,e]),[n,s]}function dt(){let[t,e]=y(location.hash||"#/approvals");return pe(()=>{let n=()=>e(location.hash||"#/approvals");return addEventListener("hashchange",n),()=>removeEventListener("hashchange",n)},[]),t.slice(2).split("/").map(decodeURIComponent)}var $e={agents:"Agents","service-accounts":"Service accounts",tools:"Tools"},x=({at:t})=>t?d`<time datetime=${t}>${new Date(t).toLocaleString()}</time>`:"\u2014",w=({error:t})=>t?d`<p class="error" role="alert">${t.message}</p>`:null;function ut({value:t}){return d`<pre class="json">${JSON.stringify(t,null,2)}</pre>`}function pt({onIn:t}){let[e,n]=y(""),[o,s]=y(null);return d`<main class="signin">
    <h1>Portcullis</h1>
    <form onSubmit=${async a=>{a.preventDefault(),sessionStorage.setItem(W,e.trim());try{await H("GET","/nhi?limit=1"),t()}catch(c){sessionStorage.removeItem(W),s(c.status===401?new Error("This token is not valid here."):c)}}}>
      <label for="token">Bearer token</label>
      <textarea id="token" rows="4" autocomplete="off" spellcheck="false" value=${e}
        onInput=${a=>n(a.target.value)} required></textarea>
      <button type="submit">Sign in</button>
      <${w} error=${o} />
    </form>
  </main>`}function ht({approval:t,onDecided:e}){let[{data:n,error:o}]=C(`/approvals/${t.id}`),[{data:s}]=C(`/nhi/agents/${t.principal_id}`),[r,a]=y(""),[c,l]=y(null),i=async u=>{try{await H("POST",`/approvals/${t.id}/${u}`,{comment:r||void 0}),e()}catch(h){l(h)}};return d`<article class="card approval" data-approval=${t.id}>
    <header><strong>${t.tool}</strong> <span class="muted">requested <${x} at=${t.created_at} /></span></header>
    <dl>
      <dt>Agent</dt><dd><a href=${`#/registry/agents/${t.principal_id}`}>${s?.name||t.principal_id}</a></dd>
      <dt>Owner</dt><dd>${s?.owner_id||"\u2014"}</dd>
      ${t.chain.length?d`<dt>Delegation chain</dt><dd>${t.chain.join(" \u2192 ")}</dd>`:null}
      ${t.on_behalf_of?d`<dt>On behalf of</dt><dd>${t.on_behalf_of}</dd>`:null}
      <dt>Policies</dt><dd>${t.policies.join(", ")}</dd>
      <dt>Expires</dt><dd><${x} at=${t.expires_at} /></dd>
    </dl>
    <h3>Arguments</h3>
    ${n?d`<${ut} value=${n.arguments} />`:d`<${w} error=${o} />`}
    <label>Comment <input value=${r} onInput=${u=>a(u.target.value)} /></label>
    <div class="actions">
      <button class="approve" onClick=${()=>i("approve")}>Approve</button>
      <button class="deny" onClick=${()=>i("deny")}>Deny</button>
    </div>
    <${w} error=${c} />
  </article>`}function $t(){let[{data:t,error:e},n]=C("/approvals?status=pending",2e3),[{data:o},s]=C("/approvals?status=approved&limit=20",5e3),[{data:r},a]=C("/approvals?status=denied&limit=20",5e3),c=()=>{n(),s(),a()},l=[...o?.items||[],...r?.items||[]].sort((i,u)=>(u.decided_at||"").localeCompare(i.decided_at||""));return d`<section>
    <h2>Pending approvals <span class="count">${t?t.total:"\u2026"}</span></h2>
    <${w} error=${e} />
    ${t&&t.items.length===0?d`<p class="muted">Nothing is waiting for a decision.</p>`:null}
    ${(t?.items||[]).map(i=>d`<${ht} key=${i.id} approval=${i} onDecided=${c} />`)}
    <h2>Decided</h2>
    <table class="decided">
      <thead><tr><th>Tool</th><th>Agent</th><th>Decision</th><th>By</th><th>When</th><th>Comment</th></tr></thead>
      <tbody>
        ${l.map(i=>d`<tr key=${i.id}>
          <td>${i.tool}</td><td>${i.principal_id}</td><td class=${i.status}>${i.status}</td>
          <td>${i.decided_by||"\u2014"}</td><td><${x} at=${i.decided_at} /></td><td>${i.comment||""}</td>
        </tr>`)}
      </tbody>
    </table>
  </section>`}var M=20;function ft({kind:t}){let[e,n]=y(""),[o,s]=y(0),r=`limit=${M}&offset=${o}${e?`&search=${encodeURIComponent(e)}`:""}`,[{data:a,error:c}]=C(`/nhi/${t}?${r}`);return d`<section>
    <nav class="tabs">
      ${Object.entries($e).map(([l,i])=>d`<a href=${`#/registry/${l}`} class=${l===t?"active":""}>${i}</a>`)}
    </nav>
    <input type="search" placeholder="Search by name or description" aria-label="Search" value=${e}
      onInput=${l=>{n(l.target.value),s(0)}} />
    <${w} error=${c} />
    <table class="registry">
      <thead><tr><th>Name</th><th>State</th><th>Risk</th><th>Owner</th><th>Last used</th></tr></thead>
      <tbody>
        ${(a?.items||[]).map(l=>d`<tr key=${l.id}>
          <td><a href=${`#/registry/${t}/${l.id}`}>${l.name}</a></td>
          <td class=${`state ${l.lifecycle_state}`}>${l.lifecycle_state}</td>
          <td class=${`risk ${l.risk?.level||l.risk_level}`}>${l.risk?.level||l.risk_level}</td>
          <td>${l.owner_id||"\u2014"}</td><td><${x} at=${l.last_used_at} /></td>
        </tr>`)}
      </tbody>
    </table>
    ${a?d`<p class="pager">
      <button disabled=${o===0} onClick=${()=>s(Math.max(0,o-M))}>Previous</button>
      ${a.total?`${o+1}\u2013${Math.min(o+M,a.total)} of ${a.total}`:"none"}
      <button disabled=${o+M>=a.total} onClick=${()=>s(o+M)}>Next</button>
    </p>`:null}
  </section>`}function mt({nhi:t,kind:e,onChanged:n}){let[o,s]=y(""),[r,a]=y(null),c=t.lifecycle_state==="suspended"?"reactivate":"suspend",l=async i=>{i.preventDefault();try{await H("POST",`/nhi/${e}/${t.id}/${c}`,{reason:o}),s(""),n()}catch(u){a(u)}};return["active","suspended"].includes(t.lifecycle_state)?d`<form class="lifecycle" onSubmit=${l}>
    <label>Reason <input value=${o} onInput=${i=>s(i.target.value)} required /></label>
    <button type="submit" class=${c}>${c==="suspend"?"Suspend":"Reactivate"}</button>
    <${w} error=${r} />
  </form>`:null}function R({title:t,path:e,show:n}){let[{data:o,error:s}]=C(e);return d`<div class="related">
    <h3>${t} <span class="count">${o?o.total:"\u2026"}</span></h3>
    <${w} error=${s} />
    <ul>${(o?.items||[]).map((r,a)=>d`<li key=${a}>${n(r)}</li>`)}</ul>
  </div>`}function vt({kind:t,id:e}){let[{data:n,error:o},s]=C(`/nhi/${t}/${e}`);return n?d`<section class="detail">
    <p><a href=${`#/registry/${t}`}>← ${$e[t]}</a></p>
    <h2>${n.name} <span class=${`state ${n.lifecycle_state}`}>${n.lifecycle_state}</span></h2>
    ${n.lifecycle_reason?d`<p class="muted">${n.lifecycle_reason}</p>`:null}
    <dl>
      <dt>Id</dt><dd><code>${n.id}</code></dd>
      <dt>Owner</dt><dd>${n.owner_id||"\u2014"}</dd>
      <dt>Description</dt><dd>${n.description||"\u2014"}</dd>
      <dt>Risk</dt><dd class=${`risk ${n.risk?.level}`}>${n.risk?.level} (${n.risk?.score})
        ${(n.risk?.factors||[]).length?d` — ${n.risk.factors.map(r=>`${r.factor} +${r.points}`).join(", ")}`:null}</dd>
      <dt>Last used</dt><dd><${x} at=${n.last_used_at} /></dd>
    </dl>
    <${mt} nhi=${n} kind=${t} onChanged=${s} />
    ${t==="agents"?d`<${R} title="Tool grants" path=${`/nhi/agents/${e}/tools`} show=${r=>r.upstream?`${r.name} (${r.upstream})`:r.name} />`:null}
    ${t==="tools"?d`<${R} title="Granted to" path=${`/nhi/tools/${e}/agents`} show=${r=>r.name} />`:null}
    ${t!=="tools"?d`<${R} title="May call or delegate to" path=${`/nhi/${e}/callees`} show=${r=>`${r.nhi.name} (${r.permission_type})`} />`:null}
    <${R} title="Called or delegated to by" path=${`/nhi/${e}/callers`} show=${r=>`${r.nhi.name} (${r.permission_type})`} />
    <${R} title="User permissions" path=${`/nhi/${e}/users`} show=${r=>`${r.user_id}: ${r.permission_level}`} />
    <${R} title="Leases held or granted" path=${`/nhi/${e}/vault/leases`}
      show=${r=>d`${r.consumer_nhi_id===e?"holds":"grants"} secret <code>${r.secret_id}</code>
        ${r.consumer_nhi_id===e?"":d` to <code>${r.consumer_nhi_id}</code>`} — ${r.active?d`until <${x} at=${r.expires_at} />`:"ended"}`} />
    <${gt} id=${e} />
  </section>`:d`<${w} error=${o} />`}function gt({id:t}){let[{data:e,error:n}]=C(`/audit?principal=${encodeURIComponent(t)}&limit=10`);return d`<div class="related">
    <h3>Recent activity</h3>
    <${w} error=${n} />
    ${e&&e.items.length===0?d`<p class="muted">No audit events.</p>`:null}
    <table class="audit">
      <tbody>${(e?.items||[]).map((o,s)=>d`<tr key=${s}>
        <td><${x} at=${o.time} /></td><td>${o.event||o.method||""}</td>
        <td>${o.tool||o.target||""}</td><td class=${o.decision||""}>${o.decision||""}</td><td>${o.status??""}</td>
      </tr>`)}</tbody>
    </table>
  </div>`}function Je({title:t,counts:e,order:n}){let o=Object.entries(e||{});n&&o.sort(([r],[a])=>n.indexOf(r)-n.indexOf(a));let s=Math.max(1,...o.map(([,r])=>r));return d`<figure class="bars">
    <figcaption>${t}</figcaption>
    ${o.map(([r,a])=>d`<div class="bar" key=${r}>
      <span class="label">${r}</span>
      <span class=${`fill ${r}`} style=${{width:`${100*a/s}%`}}></span>
      <span class="n">${a}</span>
    </div>`)}
  </figure>`}var Ke=["critical","high","medium","low"];function yt(){let[{data:t}]=C("/nhi/risk-trend?limit=30"),e=[...t?.items||[]].reverse();if(!e.length)return null;let[n,o,s]=[640,160,4],r=Math.max(1,...e.map(c=>c.total)),a=Math.min(40,(n-s*e.length)/e.length);return d`<figure class="trend">
    <figcaption>NHIs by risk level, day by day</figcaption>
    <svg viewBox=${`0 0 ${n} ${o+18}`} role="img" aria-label="NHIs by risk level per day">
      ${e.map((c,l)=>{let i=o;return d`<g key=${c.date}>
          <title>${c.date}: ${Ke.map(u=>`${c.by_risk_level[u]||0} ${u}`).join(", ")}</title>
          ${[...Ke].reverse().map(u=>{let h=o*(c.by_risk_level[u]||0)/r;return i-=h,d`<rect key=${u} class=${`seg ${u}`} x=${l*(a+s)} y=${i} width=${a} height=${h} />`})}
        </g>`})}
      <text x="0" y=${o+14} class="axis">${e[0].date}</text>
      ${e.length>1?d`<text x=${(e.length-1)*(a+s)+a} y=${o+14} class="axis" text-anchor="end">${e[e.length-1].date}</text>`:null}
    </svg>
  </figure>`}var bt={ai_agent:"agents",service_account:"service-accounts",tool:"tools"};function Ye({title:t,items:e,count:n,label:o}){return n?d`<div class="attention">
    <h3>${t} <span class="count">${n}</span></h3>
    <ul>${(e||[]).map(s=>d`<li key=${s.id}>
      <a href=${`#/registry/${bt[s.nhi_type]||"agents"}/${s.id}`}>${s.name}</a>
      <span class="muted"> ${s.nhi_type.replace("_"," ")}, ${o} <${x} at=${s.at} /></span>
    </li>`)}</ul>
    ${e&&n>e.length?d`<p class="muted">and ${n-e.length} more</p>`:null}
  </div>`:null}function kt(){let[{data:t,error:e}]=C("/nhi/risk-summary",1e4);return d`<section>
    <h2>Risk</h2>
    <${w} error=${e} />
    ${t?d`<div class="tiles">
      <div class="tile"><span class="n">${t.total_count}</span> NHIs</div>
      <div class="tile"><span class="n">${t.pending_certification}</span> pending certification</div>
      <div class="tile"><span class="n">${t.inactive_30_days}</span> inactive 30 days</div>
      <div class="tile"><span class="n">${t.expiring_7_days}</span> expiring in 7 days</div>
    </div>
    <${Je} title="By risk level" counts=${t.by_risk_level} order=${["critical","high","medium","low"]} />
    <${Je} title="By type" counts=${t.by_type} />
    <${yt} />
    <${Ye} title="Inactive for 30 days or more" items=${t.inactive} count=${t.inactive_30_days} label="last used" />
    <${Ye} title="A secret expiring within 7 days" items=${t.expiring} count=${t.expiring_7_days} label="expires" />`:null}
  </section>`}var Xe={ai_agent:"Agents",service_account:"Service accounts",tool:"Tools"};function wt({onCreated:t}){let[e,n]=y({name:"",types:["ai_agent"],risk_min:"",reviewer_id:"",due_date:"",due_rule:"revoke"}),[o,s]=y(null),r=l=>i=>n({...e,[l]:i.target.value}),a=l=>n({...e,types:e.types.includes(l)?e.types.filter(i=>i!==l):[...e.types,l]});return d`<form class="card campaign-form" onSubmit=${async l=>{l.preventDefault();try{let i={name:e.name,nhi_types:e.types,due_date:e.due_date,due_rule:e.due_rule};e.risk_min&&(i.risk_min=e.risk_min),e.reviewer_id&&(i.reviewer_id=e.reviewer_id);let u=await H("POST","/nhi/certifications",i);location.hash=`#/campaigns/${u.id}`,t()}catch(i){s(i)}}}>
    <h3>New campaign</h3>
    <label>Name <input name="name" value=${e.name} onInput=${r("name")} required /></label>
    <fieldset><legend>Reviews</legend>
      ${Object.entries(Xe).map(([l,i])=>d`<label key=${l}><input type="checkbox" checked=${e.types.includes(l)} onChange=${()=>a(l)} /> ${i}</label>`)}
    </fieldset>
    <label>At least this risky <select value=${e.risk_min} onChange=${r("risk_min")}>
      <option value="">any</option><option value="low">low</option><option value="medium">medium</option><option value="high">high</option><option value="critical">critical</option>
    </select></label>
    <label>Reviewer <input value=${e.reviewer_id} onInput=${r("reviewer_id")} placeholder="each NHI's owner" /></label>
    <label>Due <input type="date" name="due_date" value=${e.due_date} onInput=${r("due_date")} required /></label>
    <label>Open items at the due date are <select value=${e.due_rule} onChange=${r("due_rule")}>
      <option value="revoke">revoked</option><option value="certify">certified</option>
    </select></label>
    <button type="submit">Create draft</button>
    <${w} error=${o} />
  </form>`}function Ct(){let[{data:t,error:e},n]=C("/nhi/certifications");return d`<section>
    <h2>Certification campaigns</h2>
    <${w} error=${e} />
    <table class="campaigns">
      <thead><tr><th>Name</th><th>Status</th><th>Due</th><th>Decided</th></tr></thead>
      <tbody>${(t?.items||[]).map(o=>d`<tr key=${o.id}>
        <td><a href=${`#/campaigns/${o.id}`}>${o.name}</a></td><td class=${`status ${o.status}`}>${o.status}</td>
        <td><${x} at=${o.due_date} /></td><td>${o.decided} / ${o.items}</td>
      </tr>`)}</tbody>
    </table>
    <${wt} onCreated=${n} />
  </section>`}function Qe({campaign:t,item:e,onDecided:n}){let[o,s]=y(""),[r,a]=y(null),c=async i=>{try{await H("POST",`/nhi/certifications/${t.id}/${i}/${e.nhi_id}`,{comment:o||void 0}),n()}catch(u){a(u)}},l=new Set(e.unused_grants);return d`<article class="card item" data-item=${e.name}>
    <header><strong>${e.name}</strong> <span class="muted">${Xe[e.nhi_type]||e.nhi_type}</span>
      ${e.decision?d` <span class=${`decision ${e.decision}`}>${e.decision}</span>`:null}</header>
    <dl>
      <dt>Last used</dt><dd><${x} at=${e.last_used_at} /></dd>
      <dt>Grants</dt><dd>${e.grants.length?e.grants.map(i=>d`<span class=${l.has(i.id)?"grant unused":"grant"} key=${i.id}>${i.name}${l.has(i.id)?" (unused 30 days)":""}</span>`):"none"}</dd>
      ${e.decision?d`<dt>Decided</dt><dd>${e.by_rule?"by the due-date rule":e.decided_by} <${x} at=${e.decided_at} />${e.comment?` \u2014 ${e.comment}`:""}</dd>`:null}
    </dl>
    ${!e.decision&&t.status==="active"?d`
      <label>Comment <input value=${o} onInput=${i=>s(i.target.value)} /></label>
      <div class="actions">
        <button class="approve" onClick=${()=>c("certify")}>Certify</button>
        <button class="deny" onClick=${()=>c("revoke")}>Revoke</button>
      </div>`:null}
    <${w} error=${r} />
  </article>`}function xt({id:t}){let[{data:e,error:n},o]=C(`/nhi/certifications/${t}`),[s,r]=y(null),a=async l=>{try{await H("POST",`/nhi/certifications/${t}/${l}`),o()}catch(i){r(i)}};if(!e)return d`<${w} error=${n} />`;let c=e.items.filter(l=>!l.decision);return d`<section class="campaign">
    <p><a href="#/campaigns">← Campaigns</a></p>
    <h2>${e.name} <span class=${`status ${e.status}`}>${e.status}</span></h2>
    <p class="progress">${e.progress?`${e.progress.decided} of ${e.progress.total} decided`:""}
      <progress max=${e.progress?.total||1} value=${e.progress?.decided||0}></progress></p>
    <p class="muted">Due <${x} at=${e.due_date} />; open items then are ${e.due_rule==="certify"?"certified":"revoked"}.</p>
    <div class="actions">
      ${e.status==="draft"?d`<button onClick=${()=>a("launch")}>Launch</button>`:null}
      ${["draft","active"].includes(e.status)?d`<button onClick=${()=>a("cancel")}>Cancel campaign</button>`:null}
    </div>
    <${w} error=${s} />
    ${c.length?d`<h3>To review <span class="count">${c.length}</span></h3>`:null}
    ${c.map(l=>d`<${Qe} key=${l.nhi_id} campaign=${e} item=${l} onDecided=${o} />`)}
    ${e.items.length>c.length?d`<h3>Decided</h3>`:null}
    ${e.items.filter(l=>l.decision).map(l=>d`<${Qe} key=${l.nhi_id} campaign=${e} item=${l} onDecided=${o} />`)}
  </section>`}function St(){let[t,e]=y({decision:"",principal:"",tool:"",event:""}),[n,o]=y(""),s=Object.entries({...t,cursor:n,limit:"50"}).filter(([,l])=>l).map(([l,i])=>`${l}=${encodeURIComponent(i)}`).join("&"),[{data:r,error:a}]=C(`/audit?${s}`),c=l=>i=>{e({...t,[l]:i.target.value}),o("")};return d`<section>
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
      <tbody>${(r?.items||[]).map((l,i)=>d`<tr key=${i}>
        <td><${x} at=${l.time} /></td><td>${l.event||l.method||""}</td><td>${l.actor||l.approver||l.principal||""}</td>
        <td>${l.tool||l.target||l.campaign||l.approval||""}</td><td class=${l.decision||""}>${l.decision||""}</td><td>${l.status??""}</td>
      </tr>`)}</tbody>
    </table>
    <p class="pager">
      ${n?d`<button onClick=${()=>o("")}>Newest</button>`:null}
      ${r?.next_cursor?d`<button onClick=${()=>o(r.next_cursor)}>Older</button>`:null}
    </p>
  </section>`}function Pt(){let[{data:t,error:e}]=C("/policies?limit=500"),[{data:n}]=C("/readyz",1e4),o=n?.policy;return d`<section>
    <h2>Policies <span class="count">${t?t.total:""}</span></h2>
    ${o?d`<p class=${o.last_error?"reload failing":"reload"}>
      Serving set ${o.epoch}: ${o.reloads} reloads, ${o.failures} failed.
      ${o.last_error?d`<br />The last reload failed, the previous set still serves: <code>${o.last_error}</code>`:""}
    </p>`:null}
    <${w} error=${e} />
    ${t?d`<table class="policies">
      <thead><tr><th>Id</th><th>Effect</th><th>Obligation</th><th>Where</th></tr></thead>
      <tbody>${t.items.map(s=>d`<tr key=${s.id}>
        <td><code>${s.id}</code></td><td class=${s.effect}>${s.effect}</td><td>${s.obligation||""}</td>
        <td><code>${s.file}:${s.line}</code></td>
      </tr>`)}</tbody>
    </table>`:null}
  </section>`}function Tt(){let[t,e]=y(!!sessionStorage.getItem(W)),[n,o,s]=dt();if(!t)return d`<${pt} onIn=${()=>e(!0)} />`;let r=()=>{sessionStorage.removeItem(W),location.hash="#/approvals",e(!1)},a;if(n==="registry"){let c=$e[o]?o:"agents";a=s?d`<${vt} kind=${c} id=${s} />`:d`<${ft} key=${c} kind=${c} />`}else n==="risk"?a=d`<${kt} />`:n==="campaigns"?a=o?d`<${xt} key=${o} id=${o} />`:d`<${Ct} />`:n==="audit"?a=d`<${St} />`:n==="policies"?a=d`<${Pt} />`:a=d`<${$t} />`;return d`<div class="shell">
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
      <button class="signout" onClick=${r}>Sign out</button>
    </header>
    <main>${a}</main>
  </div>`}Ae(d`<${Tt} />`,document.getElementById("app"));

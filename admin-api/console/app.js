var Y,f,be,tt,D,me,ke,we,ne,B,F,Ce,se,oe,ae,nt,z={},J=[],ot=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,Q=Array.isArray;function T(t,e){for(var n in e)t[n]=e[n];return t}function re(t){t&&t.parentNode&&t.parentNode.removeChild(t)}function ie(t,e,n){var a,s,o,r={};for(o in e)o=="key"?a=e[o]:o=="ref"?s=e[o]:r[o]=e[o];if(arguments.length>2&&(r.children=arguments.length>3?Y.call(arguments,2):n),typeof t=="function"&&t.defaultProps!=null)for(o in t.defaultProps)r[o]===void 0&&(r[o]=t.defaultProps[o]);return V(t,r,a,s,null)}function V(t,e,n,a,s){var o={type:t,props:e,key:n,ref:a,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:s??++be,__i:-1,__u:0};return s==null&&f.vnode!=null&&f.vnode(o),o}function X(t){return t.children}function G(t,e){this.props=t,this.context=e}function A(t,e){if(e==null)return t.__?A(t.__,t.__i+1):null;for(var n;e<t.__k.length;e++)if((n=t.__k[e])!=null&&n.__e!=null)return n.__e;return typeof t.type=="function"?A(t):null}function at(t){if(t.__P&&t.__d){var e=t.__v,n=e.__e,a=[],s=[],o=T({},e);o.__v=e.__v+1,f.vnode&&f.vnode(o),le(t.__P,o,e,t.__n,t.__P.namespaceURI,32&e.__u?[n]:null,a,n??A(e),!!(32&e.__u),s),o.__v=e.__v,o.__.__k[o.__i]=o,Te(a,o,s),e.__e=e.__=null,o.__e!=n&&xe(o)}}function xe(t){if((t=t.__)!=null&&t.__c!=null)return t.__e=t.__c.base=null,t.__k.some(function(e){if(e!=null&&e.__e!=null)return t.__e=t.__c.base=e.__e}),xe(t)}function ve(t){(!t.__d&&(t.__d=!0)&&D.push(t)&&!K.__r++||me!=f.debounceRendering)&&((me=f.debounceRendering)||ke)(K)}function K(){try{for(var t,e=1;D.length;)D.length>e&&D.sort(we),t=D.shift(),e=D.length,at(t)}finally{D.length=K.__r=0}}function Se(t,e,n,a,s,o,r,_,c,i,u){var $,l,p,m,S,k,b=a&&a.__k||J,h=e.length;for(c=st(n,e,b,c,h),$=0;$<h;$++)(p=n.__k[$])!=null&&(l=p.__i!=-1&&b[p.__i]||z,p.__i=$,k=le(t,p,l,s,o,r,_,c,i,u),m=p.__e,p.ref&&l.ref!=p.ref&&(l.ref&&ce(l.ref,null,p),u.push(p.ref,p.__c||m,p)),S==null&&m!=null&&(S=m),4&p.__u?(c=Pe(p,c,t),l.__e&&(l.__e=null)):typeof p.type=="function"&&k!==void 0?c=k:m&&(c=m.nextSibling),p.__u&=-7);return n.__e=S,c}function st(t,e,n,a,s){var o,r,_,c,i,u=n.length,$=u,l=0;for(t.__k=new Array(s),o=0;o<s;o++)(r=e[o])!=null&&typeof r!="boolean"&&typeof r!="function"?(typeof r=="string"||typeof r=="number"||typeof r=="bigint"||r.constructor==String?r=t.__k[o]=V(null,r,null,null,null):Q(r)?r=t.__k[o]=V(X,{children:r},null,null,null):r.constructor===void 0&&r.__b>0?r=t.__k[o]=V(r.type,r.props,r.key,r.ref?r.ref:null,r.__v):t.__k[o]=r,c=o+l,r.__=t,r.__b=t.__b+1,_=null,(i=r.__i=rt(r,n,c,$))!=-1&&($--,(_=n[i])&&(_.__u|=2)),_==null||_.__v==null?(i==-1&&(s>u?l--:s<u&&l++),typeof r.type!="function"&&(r.__u|=4)):i!=c&&(i==c-1?l--:i==c+1?l++:(i>c?l--:l++,r.__u|=4))):t.__k[o]=null;if($)for(o=0;o<u;o++)(_=n[o])!=null&&(2&_.__u)==0&&(_.__e==a&&(a=A(_)),Ne(_,_));return a}function Pe(t,e,n){var a,s;if(typeof t.type=="function"){for(a=t.__k,s=0;a&&s<a.length;s++)a[s]&&(a[s].__=t,e=Pe(a[s],e,n));return e}t.__e!=e&&(e&&t.type&&!e.parentNode&&(e=A(t)),e=n.insertBefore(t.__e,e||null));do e=e&&e.nextSibling;while(e!=null&&e.nodeType==8);return e}function rt(t,e,n,a){var s,o,r,_=t.key,c=t.type,i=e[n],u=i!=null&&(2&i.__u)==0;if(i===null&&_==null||u&&_==i.key&&c==i.type)return n;if(a>(u?1:0)){for(s=n-1,o=n+1;s>=0||o<e.length;)if((i=e[r=s>=0?s--:o++])!=null&&(2&i.__u)==0&&_==i.key&&c==i.type)return r}return-1}function ge(t,e,n){e[0]=="-"?t.setProperty(e,n??""):t[e]=n==null?"":typeof n!="number"||ot.test(e)?n:n+"px"}function q(t,e,n,a,s){var o,r;e:if(e=="style")if(typeof n=="string")t.style.cssText=n;else{if(typeof a=="string"&&(t.style.cssText=a=""),a)for(e in a)n&&e in n||ge(t.style,e,"");if(n)for(e in n)a&&n[e]==a[e]||ge(t.style,e,n[e])}else if(e[0]=="o"&&e[1]=="n")o=e!=(e=e.replace(Ce,"$1")),r=e.toLowerCase(),e=r in t||e=="onFocusOut"||e=="onFocusIn"?r.slice(2):e.slice(2),t.l||(t.l={}),t.l[e+o]=n,n?a?n[F]=a[F]:(n[F]=se,t.addEventListener(e,o?ae:oe,o)):t.removeEventListener(e,o?ae:oe,o);else{if(s=="http://www.w3.org/2000/svg")e=e.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(e!="width"&&e!="height"&&e!="href"&&e!="list"&&e!="form"&&e!="tabIndex"&&e!="download"&&e!="rowSpan"&&e!="colSpan"&&e!="role"&&e!="popover"&&e in t)try{t[e]=n??"";break e}catch{}typeof n=="function"||(n==null||n===!1&&e[4]!="-"?t.removeAttribute(e):t.setAttribute(e,e=="popover"&&n==1?"":n))}}function ye(t){return function(e){if(this.l){var n=this.l[e.type+t];if(e[B]==null)e[B]=se++;else if(e[B]<n[F])return;return n(f.event?f.event(e):e)}}}function le(t,e,n,a,s,o,r,_,c,i){var u,$,l,p,m,S,k,b,h,P,O,N,U,fe,j,te,I=e.type;if(e.constructor!==void 0)return null;128&n.__u&&(c=!!(32&n.__u),o=[_=e.__e=n.__e]),(u=f.__b)&&u(e);e:if(typeof I=="function"){$=r.length;try{if(h=e.props,P=I.prototype&&I.prototype.render,O=(u=I.contextType)&&a[u.__c],N=u?O?O.props.value:u.__:a,n.__c?b=(l=e.__c=n.__c).__=l.__E:(P?e.__c=l=new I(h,N):(e.__c=l=new G(h,N),l.constructor=I,l.render=lt),O&&O.sub(l),l.state||(l.state={}),l.__n=a,p=l.__d=!0,l.__h=[],l._sb=[]),P&&l.__s==null&&(l.__s=l.state),P&&I.getDerivedStateFromProps!=null&&(l.__s==l.state&&(l.__s=T({},l.__s)),T(l.__s,I.getDerivedStateFromProps(h,l.__s))),m=l.props,S=l.state,l.__v=e,p)P&&I.getDerivedStateFromProps==null&&l.componentWillMount!=null&&l.componentWillMount(),P&&l.componentDidMount!=null&&l.__h.push(l.componentDidMount);else{if(P&&I.getDerivedStateFromProps==null&&h!==m&&l.componentWillReceiveProps!=null&&l.componentWillReceiveProps(h,N),e.__v==n.__v||!l.__e&&l.shouldComponentUpdate!=null&&l.shouldComponentUpdate(h,l.__s,N)===!1){e.__v!=n.__v&&(l.props=h,l.state=l.__s,l.__d=!1),e.__e=n.__e,e.__k=n.__k,e.__k.some(function(E){E&&(E.__=e)}),J.push.apply(l.__h,l._sb),l._sb=[],l.__h.length&&r.push(l),_=A(n);break e}l.componentWillUpdate!=null&&l.componentWillUpdate(h,l.__s,N),P&&l.componentDidUpdate!=null&&l.__h.push(function(){l.componentDidUpdate(m,S,k)})}if(l.context=N,l.props=h,l.__P=t,l.__e=!1,U=f.__r,fe=0,P)l.state=l.__s,l.__d=!1,U&&U(e),u=l.render(l.props,l.state,l.context),J.push.apply(l.__h,l._sb),l._sb=[];else do l.__d=!1,U&&U(e),u=l.render(l.props,l.state,l.context),l.state=l.__s;while(l.__d&&++fe<25);l.state=l.__s,l.getChildContext!=null&&(a=T(T({},a),l.getChildContext())),P&&!p&&l.getSnapshotBeforeUpdate!=null&&(k=l.getSnapshotBeforeUpdate(m,S)),j=u!=null&&u.type===X&&u.key==null?De(u.props.children):u,_=Se(t,Q(j)?j:[j],e,n,a,s,o,r,_,c,i),l.base=e.__e,e.__u&=-161,l.__h.length&&r.push(l),b&&(l.__E=l.__=null)}catch(E){if(r.length=$,e.__v=null,c||o!=null){if(E.then){for(e.__u|=c?160:128;_&&_.nodeType==8&&_.nextSibling;)_=_.nextSibling;o!=null&&(o[o.indexOf(_)]=null),e.__e=_}else if(o!=null)for(te=o.length;te--;)re(o[te])}else e.__e=n.__e;e.__k==null&&(e.__k=n.__k||[]),E.then||Ie(e),f.__e(E,e,n)}}else o==null&&e.__v==n.__v?(e.__k=n.__k,e.__e=n.__e):_=e.__e=it(n.__e,e,n,a,s,o,r,c,i);return(u=f.diffed)&&u(e),128&e.__u?void 0:_}function Ie(t){t&&(t.__c&&(t.__c.__e=!0),t.__k&&t.__k.some(Ie))}function Te(t,e,n){for(var a=0;a<n.length;a++)ce(n[a],n[++a],n[++a]);f.__c&&f.__c(e,t),t.some(function(s){try{t=s.__h,s.__h=[],t.some(function(o){o.call(s)})}catch(o){f.__e(o,s.__v)}})}function De(t){return typeof t!="object"||t==null||t.__b>0?t:Q(t)?t.map(De):t.constructor!==void 0?null:T({},t)}function it(t,e,n,a,s,o,r,_,c){var i,u,$,l,p,m,S,k=n.props||z,b=e.props,h=e.type;if(h=="svg"?s="http://www.w3.org/2000/svg":h=="math"?s="http://www.w3.org/1998/Math/MathML":s||(s="http://www.w3.org/1999/xhtml"),o!=null){for(i=0;i<o.length;i++)if((p=o[i])&&"setAttribute"in p==!!h&&(h?p.localName==h:p.nodeType==3)){t=p,o[i]=null;break}}if(t==null){if(h==null)return document.createTextNode(b);t=document.createElementNS(s,h,b.is&&b),_&&(f.__m&&f.__m(e,o),_=!1),o=null}if(h==null)k===b||_&&t.data==b||(t.data=b);else{if(o=h=="textarea"&&b.defaultValue!=null?null:o&&Y.call(t.childNodes),!_&&o!=null)for(k={},i=0;i<t.attributes.length;i++)k[(p=t.attributes[i]).name]=p.value;for(i in k)p=k[i],i=="dangerouslySetInnerHTML"?$=p:i=="children"||i in b||i=="value"&&"defaultValue"in b||i=="checked"&&"defaultChecked"in b||q(t,i,null,p,s);for(i in b)p=b[i],i=="children"?l=p:i=="dangerouslySetInnerHTML"?u=p:i=="value"?m=p:i=="checked"?S=p:_&&typeof p!="function"||k[i]===p||q(t,i,p,k[i],s);if(u)_||$&&(u.__html==$.__html||u.__html==t.innerHTML)||(t.innerHTML=u.__html),e.__k=[];else if($&&(t.innerHTML=""),Se(e.type=="template"?t.content:t,Q(l)?l:[l],e,n,a,h=="foreignObject"?"http://www.w3.org/1999/xhtml":s,o,r,o?o[0]:n.__k&&A(n,0),_,c),o!=null)for(i=o.length;i--;)re(o[i]);_&&h!="textarea"||(i="value",h=="progress"&&m==null?t.removeAttribute("value"):m!=null&&(m!==t[i]||h=="progress"&&!m||h=="option"&&m!=k[i])&&q(t,i,m,k[i],s),i="checked",S!=null&&S!=t[i]&&q(t,i,S,k[i],s))}return t}function ce(t,e,n){try{if(typeof t=="function"){var a=typeof t.__u=="function";a&&t.__u(),a&&e==null||(t.__u=t(e))}else t.current=e}catch(s){f.__e(s,n)}}function Ne(t,e,n){var a,s;if(f.unmount&&f.unmount(t),(a=t.ref)&&(a.current&&a.current!=t.__e||ce(a,null,e)),(a=t.__c)!=null){if(a.componentWillUnmount)try{a.componentWillUnmount()}catch(o){f.__e(o,e)}a.base=a.__P=a.__n=null}if(a=t.__k)for(s=0;s<a.length;s++)a[s]&&Ne(a[s],e,n||typeof t.type!="function");n||re(t.__e),t.__c=t.__=t.__e=void 0}function lt(t,e,n){return this.constructor(t,n)}function Ae(t,e,n){var a,s,o,r;e==document&&(e=document.documentElement),f.__&&f.__(t,e),s=(a=typeof n=="function")?null:n&&n.__k||e.__k,o=[],r=[],le(e,t=(!a&&n||e).__k=ie(X,null,[t]),s||z,z,e.namespaceURI,!a&&n?[n]:s?null:e.firstChild?Y.call(e.childNodes):null,o,!a&&n?n:s?s.__e:e.firstChild,a,r),Te(o,t,r),t.props.children=null}Y=J.slice,f={__e:function(t,e,n,a){for(var s,o,r;e=e.__;)if((s=e.__c)&&!s.__)try{if((o=s.constructor)&&o.getDerivedStateFromError!=null&&(s.setState(o.getDerivedStateFromError(t)),r=s.__d),s.componentDidCatch!=null&&(s.componentDidCatch(t,a||{}),r=s.__d),r)return s.__E=s}catch(_){t=_}throw t}},be=0,tt=function(t){return t!=null&&t.constructor===void 0},G.prototype.setState=function(t,e){var n;n=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=T({},this.state),typeof t=="function"&&(t=t(T({},n),this.props)),t&&T(n,t),t!=null&&this.__v&&(e&&this._sb.push(e),ve(this))},G.prototype.forceUpdate=function(t){this.__v&&(this.__e=!0,t&&this.__h.push(t),ve(this))},G.prototype.render=X,D=[],ke=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,we=function(t,e){return t.__v.__b-e.__v.__b},K.__r=0,ne=Math.random().toString(8),B="__d"+ne,F="__a"+ne,Ce=/(PointerCapture)$|Capture$/i,se=0,oe=ye(!1),ae=ye(!0),nt=0;var L,v,_e,He,ee=0,We=[],g=f,Ee=g.__b,Re=g.__r,Oe=g.diffed,Ue=g.__c,Fe=g.unmount,Le=g.__;function de(t,e){g.__h&&g.__h(v,t,ee||e),ee=0;var n=v.__H||(v.__H={__:[],__h:[]});return t>=n.__.length&&n.__.push({}),n.__[t]}function y(t){return ee=1,ct(Be,t)}function ct(t,e,n){var a=de(L++,2);if(a.t=t,!a.__c&&(a.__=[n?n(e):Be(void 0,e),function(_){var c=a.__N?a.__N[0]:a.__[0],i=a.t(c,_);c!==i&&(a.__N=[i,a.__[1]],a.__c.setState({}))}],a.__c=v,!v.__f)){var s=function(_,c,i){if(!a.__c.__H)return!0;var u=!1,$=a.__c.props!==_;if(a.__c.__H.__.some(function(p){if(p.__N){u=!0;var m=p.__[0];p.__=p.__N,p.__N=void 0,m!==p.__[0]&&($=!0)}}),o){var l=o.call(this,_,c,i);return u?l||$:l}return!u||$};v.__f=!0;var o=v.shouldComponentUpdate,r=v.componentWillUpdate;v.componentWillUpdate=function(_,c,i){if(this.__e){var u=o;o=void 0,s(_,c,i),o=u}r&&r.call(this,_,c,i)},v.shouldComponentUpdate=s}return a.__N||a.__}function pe(t,e){var n=de(L++,3);!g.__s&&qe(n.__H,e)&&(n.__=t,n.u=e,v.__H.__h.push(n))}function _t(t,e){var n=de(L++,7);return qe(n.__H,e)&&(n.__=t(),n.__H=e,n.__h=t),n.__}function je(t,e){return ee=8,_t(function(){return t},e)}function ut(){for(var t;t=We.shift();){var e=t.__H;if(t.__P&&e)try{e.__h.some(Z),e.__h.some(ue),e.__h=[]}catch(n){e.__h=[],g.__e(n,t.__v)}}}g.__b=function(t){v=null,Ee&&Ee(t)},g.__=function(t,e){t&&e.__k&&e.__k.__m&&(t.__m=e.__k.__m),Le&&Le(t,e)},g.__r=function(t){Re&&Re(t),L=0;var e=(v=t.__c).__H;e&&(_e===v?(e.__h=[],v.__h=[],e.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})):(e.__h.some(Z),e.__h.some(ue),e.__h=[],L=0)),_e=v},g.diffed=function(t){Oe&&Oe(t);var e=t.__c;e&&e.__H&&(e.__H.__h.length&&(We.push(e)!==1&&He===g.requestAnimationFrame||((He=g.requestAnimationFrame)||dt)(ut)),e.__H.__.some(function(n){n.u&&(n.__H=n.u,n.u=void 0)})),_e=v=null},g.__c=function(t,e){e.some(function(n){try{n.__h.some(Z),n.__h=n.__h.filter(function(a){return!a.__||ue(a)})}catch(a){e.some(function(s){s.__h&&(s.__h=[])}),e=[],g.__e(a,n.__v)}}),Ue&&Ue(t,e)},g.unmount=function(t){Fe&&Fe(t);var e,n=t.__c;n&&n.__H&&(n.__H.__.some(function(a){try{Z(a)}catch(s){e=s}}),n.__H=void 0,e&&g.__e(e,n.__v))};var Me=typeof requestAnimationFrame=="function";function dt(t){var e,n=function(){clearTimeout(a),Me&&cancelAnimationFrame(e),setTimeout(t)},a=setTimeout(n,35);Me&&(e=requestAnimationFrame(n))}function Z(t){var e=v,n=t.__c;typeof n=="function"&&(t.__c=void 0,n()),v=e}function ue(t){var e=v;t.__c=t.__(),v=e}function qe(t,e){return!t||t.length!==e.length||e.some(function(n,a){return n!==t[a]})}function Be(t,e){return typeof e=="function"?e(t):e}var Ge=function(t,e,n,a){var s;e[0]=0;for(var o=1;o<e.length;o++){var r=e[o++],_=e[o]?(e[0]|=r?1:2,n[e[o++]]):e[++o];r===3?a[0]=_:r===4?a[1]=Object.assign(a[1]||{},_):r===5?(a[1]=a[1]||{})[e[++o]]=_:r===6?a[1][e[++o]]+=_+"":r?(s=t.apply(_,Ge(t,_,n,["",null])),a.push(s),_[0]?e[0]|=2:(e[o-2]=0,e[o]=s)):a.push(_)}return a},Ve=new Map;function ze(t){var e=Ve.get(this);return e||(e=new Map,Ve.set(this,e)),(e=Ge(this,e.get(t)||(e.set(t,e=(function(n){for(var a,s,o=1,r="",_="",c=[0],i=function(l){o===1&&(l||(r=r.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?c.push(0,l,r):o===3&&(l||r)?(c.push(3,l,r),o=2):o===2&&r==="..."&&l?c.push(4,l,0):o===2&&r&&!l?c.push(5,0,!0,r):o>=5&&((r||!l&&o===5)&&(c.push(o,0,r,s),o=6),l&&(c.push(o,l,0,s),o=6)),r=""},u=0;u<n.length;u++){u&&(o===1&&i(),i(u));for(var $=0;$<n[u].length;$++)a=n[u][$],o===1?a==="<"?(i(),c=[c],o=3):r+=a:o===4?r==="--"&&a===">"?(o=1,r=""):r=a+r[0]:_?a===_?_="":r+=a:a==='"'||a==="'"?_=a:a===">"?(i(),o=1):o&&(a==="="?(o=5,s=r,r=""):a==="/"&&(o<5||n[u][$+1]===">")?(i(),o===3&&(c=c[0]),o=c,(c=c[0]).push(2,0,o),o=0):a===" "||a==="	"||a===`
`||a==="\r"?(i(),o=2):r+=a),o===3&&r==="!--"&&(o=4,c=c[0])}return i(),c})(t)),e),arguments,[])).length>1?e:e[0]}var d=ze.bind(ie),W="portcullis.token",$e=class extends Error{constructor(e,n){super(n?.message||`HTTP ${e}`),this.status=e}};async function H(t,e,n){let a={Authorization:`Bearer ${sessionStorage.getItem(W)||""}`};n!==void 0&&(a["Content-Type"]="application/json");let s=await fetch(e,{method:t,headers:a,body:n===void 0?void 0:JSON.stringify(n),credentials:"omit",cache:"no-store"}),o=await s.text(),r=o?JSON.parse(o):null;if(!s.ok)throw new $e(s.status,r);return r}function C(t,e){let[n,a]=y({data:null,error:null}),s=je(()=>{H("GET",t).then(o=>a({data:o,error:null}),o=>a(r=>({data:r.data,error:o})))},[t]);return pe(()=>{if(s(),!e)return;let o=setInterval(s,e);return()=>clearInterval(o)},[s,e]),[n,s]}function pt(){let[t,e]=y(location.hash||"#/approvals");return pe(()=>{let n=()=>e(location.hash||"#/approvals");return addEventListener("hashchange",n),()=>removeEventListener("hashchange",n)},[]),t.slice(2).split("/").map(n=>{try{return decodeURIComponent(n)}catch{return n}})}var he={agents:"Agents","service-accounts":"Service accounts",tools:"Tools"},Je=t=>/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t),Ke=()=>d`<p class="error" role="alert">No such page.</p>`,x=({at:t})=>t?d`<time datetime=${t}>${new Date(t).toLocaleString()}</time>`:"\u2014",w=({error:t})=>t?d`<p class="error" role="alert">${t.message}</p>`:null;function $t({value:t}){return d`<pre class="json">${JSON.stringify(t,null,2)}</pre>`}function ht({onIn:t}){let[e,n]=y(""),[a,s]=y(null);return d`<main class="signin">
    <h1>Portcullis</h1>
    <form onSubmit=${async r=>{r.preventDefault(),sessionStorage.setItem(W,e.trim());try{await H("GET","/nhi?limit=1"),t()}catch(_){sessionStorage.removeItem(W),s(_.status===401?new Error("This token is not valid here."):_)}}}>
      <label for="token">Bearer token</label>
      <textarea id="token" rows="4" autocomplete="off" spellcheck="false" value=${e}
        onInput=${r=>n(r.target.value)} required></textarea>
      <button type="submit">Sign in</button>
      <${w} error=${a} />
    </form>
  </main>`}function ft({approval:t,onDecided:e}){let[{data:n,error:a}]=C(`/approvals/${t.id}`),[{data:s}]=C(`/nhi/agents/${t.principal_id}`),[o,r]=y(""),[_,c]=y(null),i=async u=>{try{await H("POST",`/approvals/${t.id}/${u}`,{comment:o||void 0}),e()}catch($){c($)}};return d`<article class="card approval" data-approval=${t.id}>
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
    ${n?d`<${$t} value=${n.arguments} />`:d`<${w} error=${a} />`}
    <label>Comment <input value=${o} onInput=${u=>r(u.target.value)} /></label>
    <div class="actions">
      <button class="approve" onClick=${()=>i("approve")}>Approve</button>
      <button class="deny" onClick=${()=>i("deny")}>Deny</button>
    </div>
    <${w} error=${_} />
  </article>`}function mt(){let[{data:t,error:e},n]=C("/approvals?status=pending",2e3),[{data:a},s]=C("/approvals?status=approved&limit=20",5e3),[{data:o},r]=C("/approvals?status=denied&limit=20",5e3),_=()=>{n(),s(),r()},c=[...a?.items||[],...o?.items||[]].sort((i,u)=>(u.decided_at||"").localeCompare(i.decided_at||""));return d`<section>
    <h2>Pending approvals <span class="count">${t?t.total:"\u2026"}</span></h2>
    <${w} error=${e} />
    ${t&&t.items.length===0?d`<p class="muted">Nothing is waiting for a decision.</p>`:null}
    ${(t?.items||[]).map(i=>d`<${ft} key=${i.id} approval=${i} onDecided=${_} />`)}
    <h2>Decided</h2>
    <table class="decided">
      <thead><tr><th>Tool</th><th>Agent</th><th>Decision</th><th>By</th><th>When</th><th>Comment</th></tr></thead>
      <tbody>
        ${c.map(i=>d`<tr key=${i.id}>
          <td>${i.tool}</td><td>${i.principal_id}</td><td class=${i.status}>${i.status}</td>
          <td>${i.decided_by||"\u2014"}</td><td><${x} at=${i.decided_at} /></td><td>${i.comment||""}</td>
        </tr>`)}
      </tbody>
    </table>
  </section>`}var M=20;function vt({kind:t}){let[e,n]=y(""),[a,s]=y(""),[o,r]=y(0),_=`limit=${M}&offset=${o}${e?`&search=${encodeURIComponent(e)}`:""}${a?`&status=${a}`:""}`,[{data:c,error:i}]=C(`/nhi/${t}?${_}`);return d`<section>
    <nav class="tabs">
      ${Object.entries(he).map(([u,$])=>d`<a href=${`#/registry/${u}`} class=${u===t?"active":""}>${$}</a>`)}
    </nav>
    <div class="filters">
      <input type="search" placeholder="Search by name or description" aria-label="Search" value=${e}
        onInput=${u=>{n(u.target.value),r(0)}} />
      <label>State <select value=${a} onChange=${u=>{s(u.target.value),r(0)}}>
        <option value="">any</option>
        ${["active","inactive","suspended","deprecated","archived"].map(u=>d`<option key=${u} value=${u}>${u}</option>`)}
      </select></label>
    </div>
    <${w} error=${i} />
    <table class="registry">
      <thead><tr><th>Name</th><th>State</th><th>Risk</th><th>Owner</th><th>Last used</th></tr></thead>
      <tbody>
        ${(c?.items||[]).map(u=>d`<tr key=${u.id}>
          <td><a href=${`#/registry/${t}/${u.id}`}>${u.name}</a></td>
          <td class=${`state ${u.lifecycle_state}`}>${u.lifecycle_state}</td>
          <td class=${`risk ${u.risk?.level||u.risk_level}`}>${u.risk?.level||u.risk_level}</td>
          <td>${u.owner_id||"\u2014"}</td><td><${x} at=${u.last_used_at} /></td>
        </tr>`)}
      </tbody>
    </table>
    ${c?d`<p class="pager">
      <button disabled=${o===0} onClick=${()=>r(Math.max(0,o-M))}>Previous</button>
      ${c.total?`${o+1}\u2013${Math.min(o+M,c.total)} of ${c.total}`:"none"}
      <button disabled=${o+M>=c.total} onClick=${()=>r(o+M)}>Next</button>
    </p>`:null}
  </section>`}function gt({nhi:t,kind:e,onChanged:n}){let[a,s]=y(""),[o,r]=y(null),_=t.lifecycle_state==="suspended"?"reactivate":"suspend",c=async i=>{i.preventDefault();try{await H("POST",`/nhi/${e}/${t.id}/${_}`,{reason:a}),s(""),n()}catch(u){r(u)}};return["active","suspended"].includes(t.lifecycle_state)?d`<form class="lifecycle" onSubmit=${c}>
    <label>Reason <input value=${a} onInput=${i=>s(i.target.value)} required /></label>
    <button type="submit" class=${_}>${_==="suspend"?"Suspend":"Reactivate"}</button>
    <${w} error=${o} />
  </form>`:null}function R({title:t,path:e,show:n}){let[{data:a,error:s}]=C(e);return d`<div class="related">
    <h3>${t} <span class="count">${a?a.total:"\u2026"}</span></h3>
    <${w} error=${s} />
    <ul>${(a?.items||[]).map((o,r)=>d`<li key=${r}>${n(o)}</li>`)}</ul>
  </div>`}function yt({kind:t,id:e}){let[{data:n,error:a},s]=C(`/nhi/${t}/${e}`);return n?d`<section class="detail">
    <p><a href=${`#/registry/${t}`}>← ${he[t]}</a></p>
    <h2>${n.name} <span class=${`state ${n.lifecycle_state}`}>${n.lifecycle_state}</span></h2>
    ${n.lifecycle_reason?d`<p class="muted">${n.lifecycle_reason}</p>`:null}
    <dl>
      <dt>Id</dt><dd><code>${n.id}</code></dd>
      <dt>Owner</dt><dd>${n.owner_id||"\u2014"}</dd>
      <dt>Description</dt><dd>${n.description||"\u2014"}</dd>
      <dt>Risk</dt><dd class=${`risk ${n.risk?.level}`}>${n.risk?.level} (${n.risk?.score})
        ${(n.risk?.factors||[]).length?d` — ${n.risk.factors.map(o=>`${o.factor} +${o.points}`).join(", ")}`:null}</dd>
      <dt>Last used</dt><dd><${x} at=${n.last_used_at} /></dd>
    </dl>
    <${gt} nhi=${n} kind=${t} onChanged=${s} />
    ${t==="agents"?d`<${R} title="Tool grants" path=${`/nhi/agents/${e}/tools`} show=${o=>o.upstream?`${o.name} (${o.upstream})`:o.name} />`:null}
    ${t==="tools"?d`<${R} title="Granted to" path=${`/nhi/tools/${e}/agents`} show=${o=>o.name} />`:null}
    ${t!=="tools"?d`<${R} title="May call or delegate to" path=${`/nhi/${e}/callees`} show=${o=>`${o.nhi.name} (${o.permission_type})`} />`:null}
    <${R} title="Called or delegated to by" path=${`/nhi/${e}/callers`} show=${o=>`${o.nhi.name} (${o.permission_type})`} />
    <${R} title="User permissions" path=${`/nhi/${e}/users`} show=${o=>`${o.user_id}: ${o.permission_level}`} />
    <${R} title="Leases held or granted" path=${`/nhi/${e}/vault/leases`}
      show=${o=>d`${o.consumer_nhi_id===e?"holds":"grants"} secret <code>${o.secret_id}</code>
        ${o.consumer_nhi_id===e?"":d` to <code>${o.consumer_nhi_id}</code>`} — ${o.active?d`until <${x} at=${o.expires_at} />`:"ended"}`} />
    <${bt} id=${e} />
  </section>`:d`<${w} error=${a} />`}function bt({id:t}){let[{data:e,error:n}]=C(`/audit?principal=${encodeURIComponent(t)}&limit=10`);return d`<div class="related">
    <h3>Recent activity</h3>
    <${w} error=${n} />
    ${e&&e.items.length===0?d`<p class="muted">No audit events.</p>`:null}
    <table class="audit">
      <tbody>${(e?.items||[]).map((a,s)=>d`<tr key=${s}>
        <td><${x} at=${a.time} /></td><td>${a.event||a.method||""}</td>
        <td>${a.tool||a.target||""}</td><td class=${a.decision||""}>${a.decision||""}</td><td>${a.status??""}</td>
      </tr>`)}</tbody>
    </table>
  </div>`}function Ye({title:t,counts:e,order:n}){let a=Object.entries(e||{});n&&a.sort(([o],[r])=>n.indexOf(o)-n.indexOf(r));let s=Math.max(1,...a.map(([,o])=>o));return d`<figure class="bars">
    <figcaption>${t}</figcaption>
    ${a.map(([o,r])=>d`<div class="bar" key=${o}>
      <span class="label">${o}</span>
      <span class=${`fill ${o}`} style=${{width:`${100*r/s}%`}}></span>
      <span class="n">${r}</span>
    </div>`)}
  </figure>`}var Qe=["critical","high","medium","low"];function kt(){let[{data:t}]=C("/nhi/risk-trend?limit=30"),e=[...t?.items||[]].reverse();if(!e.length)return null;let[n,a,s]=[640,160,4],o=Math.max(1,...e.map(_=>_.total)),r=Math.min(40,(n-s*e.length)/e.length);return d`<figure class="trend">
    <figcaption>NHIs by risk level, day by day</figcaption>
    <svg viewBox=${`0 0 ${n} ${a+18}`} role="img" aria-label="NHIs by risk level per day">
      ${e.map((_,c)=>{let i=a;return d`<g key=${_.date}>
          <title>${_.date}: ${Qe.map(u=>`${_.by_risk_level[u]||0} ${u}`).join(", ")}</title>
          ${[...Qe].reverse().map(u=>{let $=a*(_.by_risk_level[u]||0)/o;return i-=$,d`<rect key=${u} class=${`seg ${u}`} x=${c*(r+s)} y=${i} width=${r} height=${$} />`})}
        </g>`})}
      <text x="0" y=${a+14} class="axis">${e[0].date}</text>
      ${e.length>1?d`<text x=${(e.length-1)*(r+s)+r} y=${a+14} class="axis" text-anchor="end">${e[e.length-1].date}</text>`:null}
    </svg>
  </figure>`}var wt={ai_agent:"agents",service_account:"service-accounts",tool:"tools"};function Xe({title:t,items:e,count:n,label:a}){return n?d`<div class="attention">
    <h3>${t} <span class="count">${n}</span></h3>
    <ul>${(e||[]).map(s=>d`<li key=${s.id}>
      <a href=${`#/registry/${wt[s.nhi_type]||"agents"}/${s.id}`}>${s.name}</a>
      <span class="muted"> ${s.nhi_type.replace("_"," ")}, ${a} <${x} at=${s.at} /></span>
    </li>`)}</ul>
    ${e&&n>e.length?d`<p class="muted">and ${n-e.length} more</p>`:null}
  </div>`:null}function Ct(){let[{data:t,error:e}]=C("/nhi/risk-summary",1e4);return d`<section>
    <h2>Risk</h2>
    <${w} error=${e} />
    ${t?d`<div class="tiles">
      <div class="tile"><span class="n">${t.total_count}</span> NHIs</div>
      <div class="tile"><span class="n">${t.pending_certification}</span> pending certification</div>
      <div class="tile"><span class="n">${t.inactive_30_days}</span> inactive 30 days</div>
      <div class="tile"><span class="n">${t.expiring_7_days}</span> expiring in 7 days</div>
    </div>
    <${Ye} title="By risk level" counts=${t.by_risk_level} order=${["critical","high","medium","low"]} />
    <${Ye} title="By type" counts=${t.by_type} />
    <${kt} />
    <${Xe} title="Inactive for 30 days or more" items=${t.inactive} count=${t.inactive_30_days} label="last used" />
    <${Xe} title="A secret expiring within 7 days" items=${t.expiring} count=${t.expiring_7_days} label="expires" />`:null}
  </section>`}var et={ai_agent:"Agents",service_account:"Service accounts",tool:"Tools"};function xt({onCreated:t}){let[e,n]=y({name:"",types:["ai_agent"],risk_min:"",reviewer_id:"",due_date:"",due_rule:"revoke"}),[a,s]=y(null),o=c=>i=>n({...e,[c]:i.target.value}),r=c=>n({...e,types:e.types.includes(c)?e.types.filter(i=>i!==c):[...e.types,c]});return d`<form class="card campaign-form" onSubmit=${async c=>{c.preventDefault();try{let i={name:e.name,nhi_types:e.types,due_date:e.due_date,due_rule:e.due_rule};e.risk_min&&(i.risk_min=e.risk_min),e.reviewer_id&&(i.reviewer_id=e.reviewer_id);let u=await H("POST","/nhi/certifications",i);location.hash=`#/campaigns/${u.id}`,t()}catch(i){s(i)}}}>
    <h3>New campaign</h3>
    <label>Name <input name="name" value=${e.name} onInput=${o("name")} required /></label>
    <fieldset><legend>Reviews</legend>
      ${Object.entries(et).map(([c,i])=>d`<label key=${c}><input type="checkbox" checked=${e.types.includes(c)} onChange=${()=>r(c)} /> ${i}</label>`)}
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
    <${w} error=${a} />
  </form>`}function St(){let[{data:t,error:e},n]=C("/nhi/certifications");return d`<section>
    <h2>Certification campaigns</h2>
    <${w} error=${e} />
    <table class="campaigns">
      <thead><tr><th>Name</th><th>Status</th><th>Due</th><th>Decided</th></tr></thead>
      <tbody>${(t?.items||[]).map(a=>d`<tr key=${a.id}>
        <td><a href=${`#/campaigns/${a.id}`}>${a.name}</a></td><td class=${`status ${a.status}`}>${a.status}</td>
        <td><${x} at=${a.due_date} /></td><td>${a.decided} / ${a.items}</td>
      </tr>`)}</tbody>
    </table>
    <${xt} onCreated=${n} />
  </section>`}function Ze({campaign:t,item:e,onDecided:n}){let[a,s]=y(""),[o,r]=y(null),_=async i=>{try{await H("POST",`/nhi/certifications/${t.id}/${i}/${e.nhi_id}`,{comment:a||void 0}),n()}catch(u){r(u)}},c=new Set(e.unused_grants);return d`<article class="card item" data-item=${e.name}>
    <header><strong>${e.name}</strong> <span class="muted">${et[e.nhi_type]||e.nhi_type}</span>
      ${e.decision?d` <span class=${`decision ${e.decision}`}>${e.decision}</span>`:null}</header>
    <dl>
      <dt>Last used</dt><dd><${x} at=${e.last_used_at} /></dd>
      <dt>Grants</dt><dd>${e.grants.length?e.grants.map(i=>d`<span class=${c.has(i.id)?"grant unused":"grant"} key=${i.id}>${i.name}${c.has(i.id)?" (unused 30 days)":""}</span>`):"none"}</dd>
      ${e.decision?d`<dt>Decided</dt><dd>${e.by_rule?"by the due-date rule":e.decided_by} <${x} at=${e.decided_at} />${e.comment?` \u2014 ${e.comment}`:""}</dd>`:null}
    </dl>
    ${!e.decision&&t.status==="active"?d`
      <label>Comment <input value=${a} onInput=${i=>s(i.target.value)} /></label>
      <div class="actions">
        <button class="approve" onClick=${()=>_("certify")}>Certify</button>
        <button class="deny" onClick=${()=>_("revoke")}>Revoke</button>
      </div>`:null}
    <${w} error=${o} />
  </article>`}function Pt({id:t}){let[{data:e,error:n},a]=C(`/nhi/certifications/${t}`),[s,o]=y(null),r=async c=>{try{await H("POST",`/nhi/certifications/${t}/${c}`),a()}catch(i){o(i)}};if(!e)return d`<${w} error=${n} />`;let _=e.items.filter(c=>!c.decision);return d`<section class="campaign">
    <p><a href="#/campaigns">← Campaigns</a></p>
    <h2>${e.name} <span class=${`status ${e.status}`}>${e.status}</span></h2>
    <p class="progress">${e.progress?`${e.progress.decided} of ${e.progress.total} decided`:""}
      <progress max=${e.progress?.total||1} value=${e.progress?.decided||0}></progress></p>
    <p class="muted">Due <${x} at=${e.due_date} />; open items then are ${e.due_rule==="certify"?"certified":"revoked"}.</p>
    <div class="actions">
      ${e.status==="draft"?d`<button onClick=${()=>r("launch")}>Launch</button>`:null}
      ${["draft","active"].includes(e.status)?d`<button onClick=${()=>r("cancel")}>Cancel campaign</button>`:null}
    </div>
    <${w} error=${s} />
    ${_.length?d`<h3>To review <span class="count">${_.length}</span></h3>`:null}
    ${_.map(c=>d`<${Ze} key=${c.nhi_id} campaign=${e} item=${c} onDecided=${a} />`)}
    ${e.items.length>_.length?d`<h3>Decided</h3>`:null}
    ${e.items.filter(c=>c.decision).map(c=>d`<${Ze} key=${c.nhi_id} campaign=${e} item=${c} onDecided=${a} />`)}
  </section>`}function It(){let[t,e]=y({decision:"",principal:"",tool:"",event:""}),[n,a]=y(""),s=Object.entries({...t,cursor:n,limit:"50"}).filter(([,c])=>c).map(([c,i])=>`${c}=${encodeURIComponent(i)}`).join("&"),[{data:o,error:r}]=C(`/audit?${s}`),_=c=>i=>{e({...t,[c]:i.target.value}),a("")};return d`<section>
    <h2>Audit log</h2>
    <form class="filters" onSubmit=${c=>c.preventDefault()}>
      <label>Decision <select value=${t.decision} onChange=${_("decision")}>
        <option value="">any</option><option value="allow">allow</option><option value="deny">deny</option>
        <option value="approval_required">approval required</option><option value="approved">approved</option>
      </select></label>
      <label>Principal <input value=${t.principal} onChange=${_("principal")} placeholder="id" /></label>
      <label>Tool <input value=${t.tool} onChange=${_("tool")} /></label>
      <label>Event <input value=${t.event} onChange=${_("event")} placeholder="e.g. approval.approved" /></label>
    </form>
    <${w} error=${r} />
    <table class="audit">
      <thead><tr><th>Time</th><th>What</th><th>Who</th><th>Tool or target</th><th>Decision</th><th>Status</th></tr></thead>
      <tbody>${(o?.items||[]).map((c,i)=>d`<tr key=${i}>
        <td><${x} at=${c.time} /></td><td>${c.event||c.method||""}</td><td>${c.actor||c.approver||c.principal||""}</td>
        <td>${c.tool||c.target||c.campaign||c.approval||""}</td><td class=${c.decision||""}>${c.decision||""}</td><td>${c.status??""}</td>
      </tr>`)}</tbody>
    </table>
    <p class="pager">
      ${n?d`<button onClick=${()=>a("")}>Newest</button>`:null}
      ${o?.next_cursor?d`<button onClick=${()=>a(o.next_cursor)}>Older</button>`:null}
    </p>
  </section>`}function Tt(){let[{data:t,error:e}]=C("/policies?limit=500"),[{data:n}]=C("/readyz",1e4),a=n?.policy;return d`<section>
    <h2>Policies <span class="count">${t?t.total:""}</span></h2>
    ${a?d`<p class=${a.failing?"reload failing":"reload"}>
      Serving set ${a.epoch}: ${a.reloads} reloads, ${a.failures} failed.
      ${a.failing?d`<br />The last reload failed, the previous set still serves${a.last_error?d`: <code>${a.last_error}</code>`:"."}`:""}
    </p>`:null}
    <${w} error=${e} />
    ${t?d`<table class="policies">
      <thead><tr><th>Id</th><th>Effect</th><th>Obligation</th><th>Where</th></tr></thead>
      <tbody>${t.items.map(s=>d`<tr key=${s.id}>
        <td><code>${s.id}</code></td><td class=${s.effect}>${s.effect}</td><td>${s.obligation||""}</td>
        <td><code>${s.file}:${s.line}</code></td>
      </tr>`)}</tbody>
    </table>`:null}
  </section>`}function Dt(){let[t,e]=y(!!sessionStorage.getItem(W)),[n,a,s]=pt();if(!t)return d`<${ht} onIn=${()=>e(!0)} />`;let o=()=>{sessionStorage.removeItem(W),location.hash="#/approvals",e(!1)},r;if(n==="registry"){let _=he[a]?a:"agents";s?r=Je(s)?d`<${yt} key=${s} kind=${_} id=${s} />`:d`<${Ke} />`:r=d`<${vt} key=${_} kind=${_} />`}else n==="risk"?r=d`<${Ct} />`:n==="campaigns"?a?r=Je(a)?d`<${Pt} key=${a} id=${a} />`:d`<${Ke} />`:r=d`<${St} />`:n==="audit"?r=d`<${It} />`:n==="policies"?r=d`<${Tt} />`:r=d`<${mt} />`;return d`<div class="shell">
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
    <main>${r}</main>
  </div>`}Ae(d`<${Dt} />`,document.getElementById("app"));

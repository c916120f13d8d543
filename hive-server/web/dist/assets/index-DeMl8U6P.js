var e=globalThis,t=e.ShadowRoot&&(e.ShadyCSS===void 0||e.ShadyCSS.nativeShadow)&&`adoptedStyleSheets`in Document.prototype&&`replace`in CSSStyleSheet.prototype,n=Symbol(),r=new WeakMap,i=class{constructor(e,t,r){if(this._$cssResult$=!0,r!==n)throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");this.cssText=e,this.t=t}get styleSheet(){let e=this.o,n=this.t;if(t&&e===void 0){let t=n!==void 0&&n.length===1;t&&(e=r.get(n)),e===void 0&&((this.o=e=new CSSStyleSheet).replaceSync(this.cssText),t&&r.set(n,e))}return e}toString(){return this.cssText}},a=e=>new i(typeof e==`string`?e:e+``,void 0,n),o=(e,...t)=>new i(e.length===1?e[0]:t.reduce((t,n,r)=>t+(e=>{if(!0===e._$cssResult$)return e.cssText;if(typeof e==`number`)return e;throw Error(`Value passed to 'css' function must be a 'css' function result: `+e+`. Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.`)})(n)+e[r+1],e[0]),e,n),s=(n,r)=>{if(t)n.adoptedStyleSheets=r.map(e=>e instanceof CSSStyleSheet?e:e.styleSheet);else for(let t of r){let r=document.createElement(`style`),i=e.litNonce;i!==void 0&&r.setAttribute(`nonce`,i),r.textContent=t.cssText,n.appendChild(r)}},c=t?e=>e:e=>e instanceof CSSStyleSheet?(e=>{let t=``;for(let n of e.cssRules)t+=n.cssText;return a(t)})(e):e,{is:l,defineProperty:u,getOwnPropertyDescriptor:d,getOwnPropertyNames:ee,getOwnPropertySymbols:te,getPrototypeOf:ne}=Object,f=globalThis,re=f.trustedTypes,ie=re?re.emptyScript:``,ae=f.reactiveElementPolyfillSupport,p=(e,t)=>e,oe={toAttribute(e,t){switch(t){case Boolean:e=e?ie:null;break;case Object:case Array:e=e==null?e:JSON.stringify(e)}return e},fromAttribute(e,t){let n=e;switch(t){case Boolean:n=e!==null;break;case Number:n=e===null?null:Number(e);break;case Object:case Array:try{n=JSON.parse(e)}catch{n=null}}return n}},se=(e,t)=>!l(e,t),ce={attribute:!0,type:String,converter:oe,reflect:!1,useDefault:!1,hasChanged:se};Symbol.metadata??=Symbol(`metadata`),f.litPropertyMetadata??=new WeakMap;var m=class extends HTMLElement{static addInitializer(e){this._$Ei(),(this.l??=[]).push(e)}static get observedAttributes(){return this.finalize(),this._$Eh&&[...this._$Eh.keys()]}static createProperty(e,t=ce){if(t.state&&(t.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(e)&&((t=Object.create(t)).wrapped=!0),this.elementProperties.set(e,t),!t.noAccessor){let n=Symbol(),r=this.getPropertyDescriptor(e,n,t);r!==void 0&&u(this.prototype,e,r)}}static getPropertyDescriptor(e,t,n){let{get:r,set:i}=d(this.prototype,e)??{get(){return this[t]},set(e){this[t]=e}};return{get:r,set(t){let a=r?.call(this);i?.call(this,t),this.requestUpdate(e,a,n)},configurable:!0,enumerable:!0}}static getPropertyOptions(e){return this.elementProperties.get(e)??ce}static _$Ei(){if(this.hasOwnProperty(p(`elementProperties`)))return;let e=ne(this);e.finalize(),e.l!==void 0&&(this.l=[...e.l]),this.elementProperties=new Map(e.elementProperties)}static finalize(){if(this.hasOwnProperty(p(`finalized`)))return;if(this.finalized=!0,this._$Ei(),this.hasOwnProperty(p(`properties`))){let e=this.properties,t=[...ee(e),...te(e)];for(let n of t)this.createProperty(n,e[n])}let e=this[Symbol.metadata];if(e!==null){let t=litPropertyMetadata.get(e);if(t!==void 0)for(let[e,n]of t)this.elementProperties.set(e,n)}this._$Eh=new Map;for(let[e,t]of this.elementProperties){let n=this._$Eu(e,t);n!==void 0&&this._$Eh.set(n,e)}this.elementStyles=this.finalizeStyles(this.styles)}static finalizeStyles(e){let t=[];if(Array.isArray(e)){let n=new Set(e.flat(1/0).reverse());for(let e of n)t.unshift(c(e))}else e!==void 0&&t.push(c(e));return t}static _$Eu(e,t){let n=t.attribute;return!1===n?void 0:typeof n==`string`?n:typeof e==`string`?e.toLowerCase():void 0}constructor(){super(),this._$Ep=void 0,this.isUpdatePending=!1,this.hasUpdated=!1,this._$Em=null,this._$Ev()}_$Ev(){this._$ES=new Promise(e=>this.enableUpdating=e),this._$AL=new Map,this._$E_(),this.requestUpdate(),this.constructor.l?.forEach(e=>e(this))}addController(e){(this._$EO??=new Set).add(e),this.renderRoot!==void 0&&this.isConnected&&e.hostConnected?.()}removeController(e){this._$EO?.delete(e)}_$E_(){let e=new Map,t=this.constructor.elementProperties;for(let n of t.keys())this.hasOwnProperty(n)&&(e.set(n,this[n]),delete this[n]);e.size>0&&(this._$Ep=e)}createRenderRoot(){let e=this.shadowRoot??this.attachShadow(this.constructor.shadowRootOptions);return s(e,this.constructor.elementStyles),e}connectedCallback(){this.renderRoot??=this.createRenderRoot(),this.enableUpdating(!0),this._$EO?.forEach(e=>e.hostConnected?.())}enableUpdating(e){}disconnectedCallback(){this._$EO?.forEach(e=>e.hostDisconnected?.())}attributeChangedCallback(e,t,n){this._$AK(e,n)}_$ET(e,t){let n=this.constructor.elementProperties.get(e),r=this.constructor._$Eu(e,n);if(r!==void 0&&!0===n.reflect){let i=(n.converter?.toAttribute===void 0?oe:n.converter).toAttribute(t,n.type);this._$Em=e,i==null?this.removeAttribute(r):this.setAttribute(r,i),this._$Em=null}}_$AK(e,t){let n=this.constructor,r=n._$Eh.get(e);if(r!==void 0&&this._$Em!==r){let e=n.getPropertyOptions(r),i=typeof e.converter==`function`?{fromAttribute:e.converter}:e.converter?.fromAttribute===void 0?oe:e.converter;this._$Em=r;let a=i.fromAttribute(t,e.type);this[r]=a??this._$Ej?.get(r)??a,this._$Em=null}}requestUpdate(e,t,n,r=!1,i){if(e!==void 0){let a=this.constructor;if(!1===r&&(i=this[e]),n??=a.getPropertyOptions(e),!((n.hasChanged??se)(i,t)||n.useDefault&&n.reflect&&i===this._$Ej?.get(e)&&!this.hasAttribute(a._$Eu(e,n))))return;this.C(e,t,n)}!1===this.isUpdatePending&&(this._$ES=this._$EP())}C(e,t,{useDefault:n,reflect:r,wrapped:i},a){n&&!(this._$Ej??=new Map).has(e)&&(this._$Ej.set(e,a??t??this[e]),!0!==i||a!==void 0)||(this._$AL.has(e)||(this.hasUpdated||n||(t=void 0),this._$AL.set(e,t)),!0===r&&this._$Em!==e&&(this._$Eq??=new Set).add(e))}async _$EP(){this.isUpdatePending=!0;try{await this._$ES}catch(e){Promise.reject(e)}let e=this.scheduleUpdate();return e!=null&&await e,!this.isUpdatePending}scheduleUpdate(){return this.performUpdate()}performUpdate(){if(!this.isUpdatePending)return;if(!this.hasUpdated){if(this.renderRoot??=this.createRenderRoot(),this._$Ep){for(let[e,t]of this._$Ep)this[e]=t;this._$Ep=void 0}let e=this.constructor.elementProperties;if(e.size>0)for(let[t,n]of e){let{wrapped:e}=n,r=this[t];!0!==e||this._$AL.has(t)||r===void 0||this.C(t,void 0,n,r)}}let e=!1,t=this._$AL;try{e=this.shouldUpdate(t),e?(this.willUpdate(t),this._$EO?.forEach(e=>e.hostUpdate?.()),this.update(t)):this._$EM()}catch(t){throw e=!1,this._$EM(),t}e&&this._$AE(t)}willUpdate(e){}_$AE(e){this._$EO?.forEach(e=>e.hostUpdated?.()),this.hasUpdated||(this.hasUpdated=!0,this.firstUpdated(e)),this.updated(e)}_$EM(){this._$AL=new Map,this.isUpdatePending=!1}get updateComplete(){return this.getUpdateComplete()}getUpdateComplete(){return this._$ES}shouldUpdate(e){return!0}update(e){this._$Eq&&=this._$Eq.forEach(e=>this._$ET(e,this[e])),this._$EM()}updated(e){}firstUpdated(e){}};m.elementStyles=[],m.shadowRootOptions={mode:`open`},m[p(`elementProperties`)]=new Map,m[p(`finalized`)]=new Map,ae?.({ReactiveElement:m}),(f.reactiveElementVersions??=[]).push(`2.1.2`);var le=globalThis,ue=e=>e,h=le.trustedTypes,de=h?h.createPolicy(`lit-html`,{createHTML:e=>e}):void 0,fe=`$lit$`,g=`lit$${Math.random().toFixed(9).slice(2)}$`,pe=`?`+g,me=`<${pe}>`,_=document,v=()=>_.createComment(``),y=e=>e===null||typeof e!=`object`&&typeof e!=`function`,he=Array.isArray,ge=e=>he(e)||typeof e?.[Symbol.iterator]==`function`,_e=`[ 	
\f\r]`,b=/<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g,ve=/-->/g,ye=/>/g,x=RegExp(`>|${_e}(?:([^\\s"'>=/]+)(${_e}*=${_e}*(?:[^ \t\n\f\r"'\`<>=]|("|')|))|$)`,`g`),be=/'/g,xe=/"/g,Se=/^(?:script|style|textarea|title)$/i,Ce=e=>(t,...n)=>({_$litType$:e,strings:t,values:n}),S=Ce(1),C=Ce(2),w=Symbol.for(`lit-noChange`),T=Symbol.for(`lit-nothing`),we=new WeakMap,E=_.createTreeWalker(_,129);function Te(e,t){if(!he(e)||!e.hasOwnProperty(`raw`))throw Error(`invalid template strings array`);return de===void 0?t:de.createHTML(t)}var Ee=(e,t)=>{let n=e.length-1,r=[],i,a=t===2?`<svg>`:t===3?`<math>`:``,o=b;for(let t=0;t<n;t++){let n=e[t],s,c,l=-1,u=0;for(;u<n.length&&(o.lastIndex=u,c=o.exec(n),c!==null);)u=o.lastIndex,o===b?c[1]===`!--`?o=ve:c[1]===void 0?c[2]===void 0?c[3]!==void 0&&(o=x):(Se.test(c[2])&&(i=RegExp(`</`+c[2],`g`)),o=x):o=ye:o===x?c[0]===`>`?(o=i??b,l=-1):c[1]===void 0?l=-2:(l=o.lastIndex-c[2].length,s=c[1],o=c[3]===void 0?x:c[3]===`"`?xe:be):o===xe||o===be?o=x:o===ve||o===ye?o=b:(o=x,i=void 0);let d=o===x&&e[t+1].startsWith(`/>`)?` `:``;a+=o===b?n+me:l>=0?(r.push(s),n.slice(0,l)+fe+n.slice(l)+g+d):n+g+(l===-2?t:d)}return[Te(e,a+(e[n]||`<?>`)+(t===2?`</svg>`:t===3?`</math>`:``)),r]},De=class e{constructor({strings:t,_$litType$:n},r){let i;this.parts=[];let a=0,o=0,s=t.length-1,c=this.parts,[l,u]=Ee(t,n);if(this.el=e.createElement(l,r),E.currentNode=this.el.content,n===2||n===3){let e=this.el.content.firstChild;e.replaceWith(...e.childNodes)}for(;(i=E.nextNode())!==null&&c.length<s;){if(i.nodeType===1){if(i.hasAttributes())for(let e of i.getAttributeNames())if(e.endsWith(fe)){let t=u[o++],n=i.getAttribute(e).split(g),r=/([.?@])?(.*)/.exec(t);c.push({type:1,index:a,name:r[2],strings:n,ctor:r[1]===`.`?Ae:r[1]===`?`?je:r[1]===`@`?Me:O}),i.removeAttribute(e)}else e.startsWith(g)&&(c.push({type:6,index:a}),i.removeAttribute(e));if(Se.test(i.tagName)){let e=i.textContent.split(g),t=e.length-1;if(t>0){i.textContent=h?h.emptyScript:``;for(let n=0;n<t;n++)i.append(e[n],v()),E.nextNode(),c.push({type:2,index:++a});i.append(e[t],v())}}}else if(i.nodeType===8){if(i.data===pe)c.push({type:2,index:a});else{let e=-1;for(;(e=i.data.indexOf(g,e+1))!==-1;)c.push({type:7,index:a}),e+=g.length-1}}a++}}static createElement(e,t){let n=_.createElement(`template`);return n.innerHTML=e,n}};function D(e,t,n=e,r){if(t===w)return t;let i=r===void 0?n._$Cl:n._$Co?.[r],a=y(t)?void 0:t._$litDirective$;return i?.constructor!==a&&(i?._$AO?.(!1),a===void 0?i=void 0:(i=new a(e),i._$AT(e,n,r)),r===void 0?n._$Cl=i:(n._$Co??=[])[r]=i),i!==void 0&&(t=D(e,i._$AS(e,t.values),i,r)),t}var Oe=class{constructor(e,t){this._$AV=[],this._$AN=void 0,this._$AD=e,this._$AM=t}get parentNode(){return this._$AM.parentNode}get _$AU(){return this._$AM._$AU}u(e){let{el:{content:t},parts:n}=this._$AD,r=(e?.creationScope??_).importNode(t,!0);E.currentNode=r;let i=E.nextNode(),a=0,o=0,s=n[0];for(;s!==void 0;){if(a===s.index){let t;s.type===2?t=new ke(i,i.nextSibling,this,e):s.type===1?t=new s.ctor(i,s.name,s.strings,this,e):s.type===6&&(t=new Ne(i,this,e)),this._$AV.push(t),s=n[++o]}a!==s?.index&&(i=E.nextNode(),a++)}return E.currentNode=_,r}p(e){let t=0;for(let n of this._$AV)n!==void 0&&(n.strings===void 0?n._$AI(e[t]):(n._$AI(e,n,t),t+=n.strings.length-2)),t++}},ke=class e{get _$AU(){return this._$AM?._$AU??this._$Cv}constructor(e,t,n,r){this.type=2,this._$AH=T,this._$AN=void 0,this._$AA=e,this._$AB=t,this._$AM=n,this.options=r,this._$Cv=r?.isConnected??!0}get parentNode(){let e=this._$AA.parentNode,t=this._$AM;return t!==void 0&&e?.nodeType===11&&(e=t.parentNode),e}get startNode(){return this._$AA}get endNode(){return this._$AB}_$AI(e,t=this){e=D(this,e,t),y(e)?e===T||e==null||e===``?(this._$AH!==T&&this._$AR(),this._$AH=T):e!==this._$AH&&e!==w&&this._(e):e._$litType$===void 0?e.nodeType===void 0?ge(e)?this.k(e):this._(e):this.T(e):this.$(e)}O(e){return this._$AA.parentNode.insertBefore(e,this._$AB)}T(e){this._$AH!==e&&(this._$AR(),this._$AH=this.O(e))}_(e){this._$AH!==T&&y(this._$AH)?this._$AA.nextSibling.data=e:this.T(_.createTextNode(e)),this._$AH=e}$(e){let{values:t,_$litType$:n}=e,r=typeof n==`number`?this._$AC(e):(n.el===void 0&&(n.el=De.createElement(Te(n.h,n.h[0]),this.options)),n);if(this._$AH?._$AD===r)this._$AH.p(t);else{let e=new Oe(r,this),n=e.u(this.options);e.p(t),this.T(n),this._$AH=e}}_$AC(e){let t=we.get(e.strings);return t===void 0&&we.set(e.strings,t=new De(e)),t}k(t){he(this._$AH)||(this._$AH=[],this._$AR());let n=this._$AH,r,i=0;for(let a of t)i===n.length?n.push(r=new e(this.O(v()),this.O(v()),this,this.options)):r=n[i],r._$AI(a),i++;i<n.length&&(this._$AR(r&&r._$AB.nextSibling,i),n.length=i)}_$AR(e=this._$AA.nextSibling,t){for(this._$AP?.(!1,!0,t);e!==this._$AB;){let t=ue(e).nextSibling;ue(e).remove(),e=t}}setConnected(e){this._$AM===void 0&&(this._$Cv=e,this._$AP?.(e))}},O=class{get tagName(){return this.element.tagName}get _$AU(){return this._$AM._$AU}constructor(e,t,n,r,i){this.type=1,this._$AH=T,this._$AN=void 0,this.element=e,this.name=t,this._$AM=r,this.options=i,n.length>2||n[0]!==``||n[1]!==``?(this._$AH=Array(n.length-1).fill(new String),this.strings=n):this._$AH=T}_$AI(e,t=this,n,r){let i=this.strings,a=!1;if(i===void 0)e=D(this,e,t,0),a=!y(e)||e!==this._$AH&&e!==w,a&&(this._$AH=e);else{let r=e,o,s;for(e=i[0],o=0;o<i.length-1;o++)s=D(this,r[n+o],t,o),s===w&&(s=this._$AH[o]),a||=!y(s)||s!==this._$AH[o],s===T?e=T:e!==T&&(e+=(s??``)+i[o+1]),this._$AH[o]=s}a&&!r&&this.j(e)}j(e){e===T?this.element.removeAttribute(this.name):this.element.setAttribute(this.name,e??``)}},Ae=class extends O{constructor(){super(...arguments),this.type=3}j(e){this.element[this.name]=e===T?void 0:e}},je=class extends O{constructor(){super(...arguments),this.type=4}j(e){this.element.toggleAttribute(this.name,!!e&&e!==T)}},Me=class extends O{constructor(e,t,n,r,i){super(e,t,n,r,i),this.type=5}_$AI(e,t=this){if((e=D(this,e,t,0)??T)===w)return;let n=this._$AH,r=e===T&&n!==T||e.capture!==n.capture||e.once!==n.once||e.passive!==n.passive,i=e!==T&&(n===T||r);r&&this.element.removeEventListener(this.name,this,n),i&&this.element.addEventListener(this.name,this,e),this._$AH=e}handleEvent(e){typeof this._$AH==`function`?this._$AH.call(this.options?.host??this.element,e):this._$AH.handleEvent(e)}},Ne=class{constructor(e,t,n){this.element=e,this.type=6,this._$AN=void 0,this._$AM=t,this.options=n}get _$AU(){return this._$AM._$AU}_$AI(e){D(this,e)}};(0,le.litHtmlPolyfillSupport)?.(De,ke),(le.litHtmlVersions??=[]).push(`3.3.3`);var Pe=(e,t,n)=>{let r=n?.renderBefore??t,i=r._$litPart$;if(i===void 0){let e=n?.renderBefore??null;r._$litPart$=i=new ke(t.insertBefore(v(),e),e,void 0,n??{})}return i._$AI(e),i},Fe=globalThis,k=class extends m{constructor(){super(...arguments),this.renderOptions={host:this},this._$Do=void 0}createRenderRoot(){let e=super.createRenderRoot();return this.renderOptions.renderBefore??=e.firstChild,e}update(e){let t=this.render();this.hasUpdated||(this.renderOptions.isConnected=this.isConnected),super.update(e),this._$Do=Pe(t,this.renderRoot,this.renderOptions)}connectedCallback(){super.connectedCallback(),this._$Do?.setConnected(!0)}disconnectedCallback(){super.disconnectedCallback(),this._$Do?.setConnected(!1)}render(){return w}};k._$litElement$=!0,k.finalized=!0,Fe.litElementHydrateSupport?.({LitElement:k}),(0,Fe.litElementPolyfillSupport)?.({LitElement:k}),(Fe.litElementVersions??=[]).push(`4.2.2`);var Ie=`hive.token`,A=class extends Error{constructor(e,t,n){super(n),this.status=e,this.code=t}},Le=class extends Error{},Re=()=>{};function ze(e){Re=e}function Be(){try{return sessionStorage.getItem(Ie)}catch{return null}}function Ve(e){try{e===null?sessionStorage.removeItem(Ie):sessionStorage.setItem(Ie,e)}catch{}}async function j(e,t,n,r=Be(),i={}){let a={Accept:`application/json`};r&&(a.Authorization=`Bearer ${r}`);let o={method:e,headers:a,cache:`no-store`};n!==void 0&&(a[`Content-Type`]=`application/json`,o={...o,body:JSON.stringify(n)});let s;try{s=await fetch(t,o)}catch(e){throw new Le(`cannot reach the server (${String(e)})`)}let c=await s.text().catch(()=>``),l;if(c)try{l=JSON.parse(c)}catch{l=void 0}if(!s.ok){let e=l?.error,t=new A(s.status,e?.code??`http_${s.status}`,e?.message??(c.slice(0,200)||`${s.status} ${s.statusText}`));throw s.status===401&&!i.keepSession&&Re(),t}return l}function M(e){return e instanceof A?`${e.status} ${e.code}: ${e.message}`:e instanceof Error?e.message:String(e)}function N(e){let t=[];for(let[n,r]of Object.entries(e))r!=null&&r!==``&&t.push(`${encodeURIComponent(n)}=${encodeURIComponent(String(r))}`);return t.length?`?${t.join(`&`)}`:``}var He=[`pending`,`waiting`,`delayed`,`assigned`,`in_progress`,`completed`,`failed`,`cancelled`,`dead_lettered`];function Ue(e){return Array.isArray(e.intervals)?e.intervals:[]}var P=[{key:`pending`,label:`Pending`,statuses:[`pending`]},{key:`waiting`,label:`Waiting / delayed`,statuses:[`waiting`,`delayed`]},{key:`running`,label:`Running`,statuses:[`assigned`,`in_progress`]},{key:`completed`,label:`Completed`,statuses:[`completed`]},{key:`failed`,label:`Failed / dead-lettered`,statuses:[`failed`,`dead_lettered`]},{key:`cancelled`,label:`Cancelled`,statuses:[`cancelled`]}];function We(e){switch(e){case`pending`:return`pending`;case`waiting`:case`delayed`:return`waiting`;case`assigned`:case`in_progress`:return`running`;case`completed`:return`completed`;case`failed`:case`dead_lettered`:return`failed`;case`cancelled`:return`cancelled`}}var Ge=[`proposed`,`experimenting`,`approved`,`rejected`,`refused`],Ke=[`running`,`awaiting_approval`,`watching`,`done`,`rejected`,`reverted`,`failed`],qe=[`prepare`,`generate`,`static_gate`,`tests`,`bench`,`review`,`merge`,`watch`],Je=2e3,Ye=1e3,F=1e4,Xe=200,Ze=250;function Qe(){let e={};for(let t of He)e[t]=0;return e}function $e(){let e={};for(let t of P)e[t.key]={ids:[],more:!1,cap:500,loadingMore:!1,error:``};return e}function et(e){return{id:e.id,task_type:e.task_type,status:e.status,priority:e.priority,capabilities:e.capabilities,created_at:e.created_at,worker:e.worker,agent_name:e.agent_name,col:null,deps:e.dependencies}}var I=new class{constructor(){this.auth=`unknown`,this.signinError=``,this.signinBusy=!1,this.tokenRequired=!1,this.connection=`reconnecting`,this.connectionDetail=`connecting`,this.lastError=``,this.lagged=0,this.failures=0,this.counts=Qe(),this.total=0,this.statsLoaded=!1,this.snapshotLoaded=!1,this.cards=new Map,this.columns=$e(),this.filters={type:``,agent:``,capability:``,priority:``},this.agents=[],this.agentsError=``,this.agentsLoaded=!1,this.events=[],this.lastSeq=0,this.resyncs=0,this.applied=0,this.lat=new Float64Array(F),this.latCount=0,this.latPos=0,this.pendingAts=[],this.listeners=new Set,this.eventListeners=new Set,this.frame=0,this.ws=null,this.gen=0,this.loading=!1,this.resyncAgain=!1,this.buffer=[],this.snapLo=0,this.snapHi=0,this.refetched=new Set,this.inFlight=new Set,this.fetchQueue=[],this.fetching=0,this.lastApplied=new Map,this.statsTrailing=!1,this.p95Cache={at:0,value:null},ze(()=>this.toSignin())}subscribe(e){return this.listeners.add(e),()=>this.listeners.delete(e)}onEvent(e){return this.eventListeners.add(e),()=>this.eventListeners.delete(e)}changed(){this.frame||=requestAnimationFrame(()=>{this.frame=0;let e=this.pendingAts;this.pendingAts=[];let t=[];for(let e of this.listeners){let n=e();n instanceof Promise&&t.push(n)}e.length!==0&&Promise.all(t).then(()=>{let t=Date.now();for(let n of e)this.recordLatency(t-n)})})}recordLatency(e){this.lat[this.latPos]=e,this.latPos=(this.latPos+1)%F,this.latCount<1e4&&this.latCount++}latencies(){let e=[],t=this.latCount<1e4?0:this.latPos;for(let n=0;n<this.latCount;n++)e.push(this.lat[(t+n)%F]);return e}latencyP95(e=500){let t=Date.now();if(t-this.p95Cache.at<1e3)return this.p95Cache.value;let n=Math.min(e,this.latCount),r=[];for(let e=1;e<=n;e++)r.push(this.lat[(this.latPos-e+F)%F]);r.sort((e,t)=>e-t);let i=r.length?r[Math.min(r.length-1,Math.ceil(r.length*.95)-1)]:null;return this.p95Cache={at:t,value:i},i}async start(){try{let[e,t]=await Promise.all([j(`GET`,`/queue/stats`),this.newestSeq()]);this.tokenRequired=Be()!==null,this.applyStats(e),this.auth=`ok`,this.changed(),await this.connect(!1,t)}catch(e){if(e instanceof A&&e.status===401)return;this.fail(e),this.scheduleReconnect(()=>this.start())}}async signIn(e){this.signinBusy=!0,this.signinError=``,this.changed();try{let t=await j(`GET`,`/queue/stats`,void 0,e);Ve(e),this.tokenRequired=!0,this.auth=`ok`,this.applyStats(t),this.signinBusy=!1,this.changed(),await this.connect(!1)}catch(e){this.signinBusy=!1,this.auth=`signin`,this.signinError=e instanceof A&&e.status===401?`that token was refused`:`cannot sign in: ${M(e)}`,this.changed()}}signOut(){Ve(null),this.toSignin()}toSignin(){this.gen++,this.closeSocket(),clearTimeout(this.reconnectTimer),this.auth=`signin`,this.tokenRequired=!0,this.connection=`reconnecting`,this.connectionDetail=`signed out`,this.changed()}fail(e){this.lastError=M(e),e instanceof Le||this.failures>=2?(this.connection=`unreachable`,this.connectionDetail=`server unreachable`):(this.connection=`reconnecting`,this.connectionDetail=`reconnecting`),this.changed()}scheduleReconnect(e){clearTimeout(this.reconnectTimer);let t=Math.min(500*2**this.failures,1e4);this.failures++,this.reconnectTimer=setTimeout(e,t)}closeSocket(){let e=this.ws;if(this.ws=null,e){e.onopen=e.onmessage=e.onclose=e.onerror=null;try{e.close()}catch{}}}async connect(e,t){let n=++this.gen;this.closeSocket();try{await this.loadSnapshot(e,n,t)}catch(e){if(n!==this.gen||e instanceof A&&e.status===401)return;this.fail(e),this.scheduleReconnect(()=>void this.connect(!0));return}n===this.gen&&this.openSocket(n,this.snapLo)}openSocket(e,t){let n=location.protocol===`https:`?`wss:`:`ws:`,r=Be(),i=`${n}//${location.host}/ws/events${N({since:t,token:r})}`,a;try{a=new WebSocket(i)}catch(e){this.fail(e),this.scheduleReconnect(()=>void this.connect(!0));return}this.ws=a,a.onmessage=t=>{if(e!==this.gen)return;let n;try{n=JSON.parse(String(t.data))}catch{return}switch(n.type){case`hello`:this.failures=0,this.connection=`live`,this.connectionDetail=`live`,this.lastError=``,this.changed();break;case`event`:this.receive(n);break;case`lagged`:this.lagged++;break;case`resync`:this.resync();break;case`error`:this.lastError=`event feed: ${String(n.message)}`,this.changed()}},a.onclose=()=>{e===this.gen&&(this.ws=null,this.connection=this.failures>=3?`unreachable`:`reconnecting`,this.connectionDetail=this.connection===`unreachable`?`server unreachable`:`reconnecting`,this.changed(),this.scheduleReconnect(()=>void this.connect(!0)))}}async resync(){if(this.loading){this.resyncAgain=!0;return}let e=this.gen;try{await this.loadSnapshot(!0,e)}catch(t){if(e!==this.gen)return;this.fail(t),this.closeSocket(),this.scheduleReconnect(()=>void this.connect(!0))}}async newestSeq(){return(await j(`GET`,`/events?limit=1`)).seq}columnQuery(e,t){return`/tasks${N({status:e.join(`,`),order:`desc`,limit:100,after:t,type:this.filters.type||void 0,agent:this.filters.agent||void 0})}`}async loadSnapshot(e,t,n){this.loading=!0,this.buffer=[];try{let r=n??await this.newestSeq(),[i,a,o]=await Promise.all([n!==void 0&&this.statsLoaded?null:j(`GET`,`/queue/stats`),Promise.all(P.map(e=>j(`GET`,this.columnQuery(e.statuses)))),j(`GET`,`/agents`)]),s=await this.newestSeq();if(t!==this.gen)return;i&&this.applyStats(i),this.setAgents(o);let c=new Map,l=$e();P.forEach((e,t)=>{let n=a[t];for(let t of n.tasks){let n=et(t);n.col=e.key,c.set(n.id,n),l[e.key].ids.push(n.id)}l[e.key].more=n.next!==null}),this.cards=c,this.columns=l,this.lastApplied.clear(),this.refetched.clear(),this.snapLo=r,this.snapHi=s,this.snapshotLoaded=!0,e&&this.resyncs++,r<this.lastSeq&&(this.events=[]),this.lastSeq=r}finally{if(t===this.gen){this.loading=!1;let e=this.buffer;this.buffer=[];for(let t of e)this.handle(t);this.changed(),this.resyncAgain&&(this.resyncAgain=!1,queueMicrotask(()=>void this.resync()))}}}applyStats(e){let t=Qe();for(let n of He)t[n]=e.stats.counts[n]??0;this.counts=t,this.total=e.total,this.statsLoaded=!0}statsSoon(){this.statsTimer===void 0?(()=>{let e=this.gen;j(`GET`,`/queue/stats`).then(t=>{e===this.gen&&(this.applyStats(t),this.changed())}).catch(e=>{this.lastError=`queue stats: ${M(e)}`,this.changed()}),this.statsTimer=setTimeout(()=>{this.statsTimer=void 0,this.statsTrailing&&(this.statsTrailing=!1,this.statsSoon())},Ze)})():this.statsTrailing=!0}columnCount(e){return P.find(t=>t.key===e).statuses.reduce((e,t)=>e+this.counts[t],0)}receive(e){this.loading?(this.buffer.push(e),this.buffer.length>2e4&&this.buffer.splice(0,this.buffer.length-2e4)):this.handle(e)}handle(e){e.seq>this.lastSeq&&(this.lastSeq=e.seq),(this.events.length===0||this.events[0].seq<e.seq)&&(this.events.unshift(e),this.events.length>1e3&&(this.events.length=Ye));for(let t of this.eventListeners)try{t(e)}catch{}let t=e.kind;if(t===`events.lost`)this.resync();else{if(t.startsWith(`task.`)){if(e.seq<=this.snapLo)return;if(e.seq<=this.snapHi){if(!this.refetched.has(e.subject)){if(this.refetched.add(e.subject),this.refetched.size>Xe){this.resync();return}this.refetch(e.subject)}}else this.applyTask(e);this.statsSoon()}else if(t.startsWith(`agent.`))this.applyAgent(e);else if(t===`queue.reaped`||t===`queue.worker_expired`||t===`queue.purged`){let n=e.data??{},r=[];if(t===`queue.purged`&&r.push(...this.columns.failed.ids),t===`queue.reaped`&&Number(n.promoted??0)>0&&r.push(...this.columns.waiting.ids),(t===`queue.worker_expired`||Number(n.expired??0)>0||Number(n.timed_out??0)>0)&&r.push(...this.columns.running.ids),r.length>Xe)this.resync();else for(let e of r)this.refetch(e);this.statsSoon()}this.changed()}}agentNameOf(e){if(!e||!e.startsWith(`agent-`))return null;let t=e.slice(6);return this.agents.find(e=>e.id===t)?.name??null}applyTask(e){let t=e.subject,n=e.data??{},r=this.cards.get(t),i=null;switch(e.kind){case`task.submitted`:i=n.status??`pending`,r||={id:t,task_type:String(n.type??``),status:i,priority:Number(n.priority??5),capabilities:Array.isArray(n.capabilities)?n.capabilities:[],created_at:e.at,worker:null,agent_name:null,col:null,deps:Array.isArray(n.depends_on)?n.depends_on:[]};break;case`task.claimed`:i=`assigned`,r&&(r.worker=typeof n.worker==`string`?n.worker:r.worker,r.agent_name=this.agentNameOf(r.worker)??r.agent_name);break;case`task.completed`:i=`completed`;break;case`task.failed`:i=n.retry_at?`delayed`:`failed`;break;case`task.dead_lettered`:i=`dead_lettered`;break;case`task.cancelled`:i=`cancelled`;break;case`task.retried`:case`task.released`:i=`pending`}if(this.inFlight.has(t)&&this.lastApplied.set(t,e.seq),i===null||!r){this.refetch(t);return}this.applied++;let a=Date.parse(e.at);if(!Number.isNaN(a)&&this.pendingAts.length<1e4&&this.pendingAts.push(a),this.place(r,i),i===`completed`||i===`failed`||i===`dead_lettered`||i===`cancelled`)for(let e of this.columns.waiting.ids){let n=this.cards.get(e);n&&n.status===`waiting`&&n.deps.includes(t)&&this.refetch(e)}}admissible(e,t){if(this.filters.type&&e.task_type!==this.filters.type||this.filters.agent&&e.worker!==`agent-${this.filters.agent}`)return!1;let n=this.columns[t];return!n.more||n.ids.length===0||e.id>n.ids[n.ids.length-1]}place(e,t){e.status=t;let n=We(t);if(e.col&&e.col!==n){let t=this.columns[e.col].ids,n=t.indexOf(e.id);n>=0&&t.splice(n,1),e.col=null}if(e.col===n){this.cards.set(e.id,e);return}if(!this.admissible(e,n)){this.cards.delete(e.id);return}let r=this.columns[n],i=r.ids,a=0,o=i.length;for(;a<o;){let t=a+o>>1;i[t]>e.id?a=t+1:o=t}for(i.splice(a,0,e.id),e.col=n,this.cards.set(e.id,e);i.length>r.cap;){let e=i.pop();this.cards.delete(e),r.more=!0}}removeCard(e){let t=this.cards.get(e);if(t){if(t.col){let n=this.columns[t.col].ids,r=n.indexOf(e);r>=0&&n.splice(r,1)}this.cards.delete(e)}}refetch(e){this.inFlight.has(e)||this.fetchQueue.includes(e)||(this.fetchQueue.push(e),this.pump())}pump(){for(;this.fetching<6&&this.fetchQueue.length>0;){let e=this.fetchQueue.shift();this.inFlight.add(e),this.fetching++;let t=this.gen,n=this.lastSeq;j(`GET`,`/tasks/${encodeURIComponent(e)}`).then(r=>{if(t!==this.gen)return;let i=this.lastApplied.get(e);if(i!==void 0&&i>n)return;let a=this.cards.get(e),o=et(r);a&&(o.col=a.col),this.place(o,r.status),this.changed()}).catch(t=>{t instanceof A&&t.status===404&&(this.removeCard(e),this.changed())}).finally(()=>{this.inFlight.delete(e),this.lastApplied.delete(e),this.fetching--,this.pump()})}}setAgents(e){this.agents=e,this.agentsLoaded=!0,this.agentsError=``;let t=!1;for(let e of this.cards.values())if(e.worker&&!e.agent_name){let n=this.agentNameOf(e.worker);n&&(e.agent_name=n,t=!0)}t&&this.changed()}async loadAgents(){try{this.setAgents(await j(`GET`,`/agents`))}catch(e){this.agentsError=M(e)}this.changed()}applyAgent(e){let t=e.data??{},n=this.agents.findIndex(t=>t.id===e.subject);if(e.kind===`agent.registered`)n<0&&(this.agents=[...this.agents,{id:e.subject,name:String(t.name??``),kind:String(t.kind??``),capabilities:Array.isArray(t.capabilities)?t.capabilities:[],status:t.status??`healthy`,load:0,metadata:{},created_at:e.at,last_heartbeat:e.at}]),j(`GET`,`/agents/${encodeURIComponent(e.subject)}`).then(e=>{let t=this.agents.findIndex(t=>t.id===e.id);this.agents=t<0?[...this.agents,e]:this.agents.map((n,r)=>r===t?e:n),this.changed()}).catch(()=>{});else if(e.kind===`agent.status`&&n>=0){let e=t.status,r=e===`terminated`?`stopped`:[`healthy`,`unhealthy`,`dead`,`stopped`].includes(e)?e:this.agents[n].status;this.agents=this.agents.map((e,t)=>t===n?{...e,status:r}:e)}else n<0&&this.loadAgents()}async loadMore(e){let t=this.columns[e];if(!t.more||t.loadingMore||t.ids.length>=2e3)return;t.loadingMore=!0,t.error=``,this.changed();let n=this.gen,r=P.find(t=>t.key===e),i=t.ids[t.ids.length-1];try{let a=await j(`GET`,this.columnQuery(r.statuses,i));if(n!==this.gen||this.columns[e]!==t)return;t.cap=Math.min(Je,Math.max(t.cap,t.ids.length+a.tasks.length));for(let n of a.tasks){if(this.cards.has(n.id))continue;let r=et(n);We(n.status)===e&&(r.col=e,this.cards.set(r.id,r),t.ids.push(r.id))}t.more=a.next!==null}catch(e){t.error=M(e)}finally{t.loadingMore=!1,this.changed()}}async setServerFilters(e,t){this.filters={...this.filters,type:e,agent:t},this.changed(),this.auth===`ok`&&await this.resyncQuiet()}async resyncQuiet(){if(this.loading){this.resyncAgain=!0;return}let e=this.gen;try{await this.loadSnapshot(!1,e)}catch(e){this.lastError=M(e),this.changed()}}setLocalFilters(e,t){this.filters={...this.filters,capability:e,priority:t},this.changed()}visibleIds(e){let t=this.columns[e].ids,n=this.filters.capability.trim(),r=this.filters.priority;return!n&&!r?t:t.filter(e=>{let t=this.cards.get(e);return!(!t||n&&!t.capabilities.includes(n)||r&&String(t.priority)!==r)})}};window.__hive={latencies:()=>I.latencies(),get resyncs(){return I.resyncs},get applied(){return I.applied},get connection(){return I.connection}};var L=class extends k{connectedCallback(){super.connectedCallback(),this.unsubscribe=I.subscribe(()=>(this.requestUpdate(),this.updateComplete))}disconnectedCallback(){super.disconnectedCallback(),this.unsubscribe?.(),this.unsubscribe=void 0}};function R(e,t,n){let r,i=I.onEvent(i=>{e(i)&&(clearTimeout(r),r=setTimeout(n,t))});return()=>{i(),clearTimeout(r)}}function tt(e,t=Date.now()){if(!e)return`—`;let n=Date.parse(e);if(Number.isNaN(n))return`—`;let r=Math.max(0,Math.round((t-n)/1e3));if(r<60)return`${r}s`;let i=Math.floor(r/60);if(i<60)return`${i}m ${r%60}s`;let a=Math.floor(i/60);return a<48?`${a}h ${i%60}m`:`${Math.floor(a/24)}d`}function z(e){if(!e)return`—`;let t=new Date(e);return Number.isNaN(t.getTime())?e:t.toLocaleString()}function B(e){return e.length>8?`…${e.slice(-8)}`:e}function V(e){if(e===void 0)return`—`;try{return JSON.stringify(e,null,2)}catch{return String(e)}}var H=o`
  :host {
    display: block;
    color: var(--fg);
    font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  }
  *, *::before, *::after { box-sizing: border-box; }
  h2 { font-size: 1.25rem; margin: 0 0 0.75rem; }
  h3 { font-size: 1rem; margin: 1rem 0 0.5rem; }
  a { color: var(--link); }
  button {
    font: inherit;
    color: var(--fg);
    background: var(--btn);
    border: 1px solid var(--border-strong);
    border-radius: 6px;
    padding: 0.3rem 0.7rem;
    cursor: pointer;
  }
  button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
  button.danger { background: var(--danger); color: #fff; border-color: var(--danger); }
  button:disabled { opacity: 0.6; cursor: default; }
  :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
  input, textarea, select {
    font: inherit;
    color: var(--fg);
    background: var(--input);
    border: 1px solid var(--border-strong);
    border-radius: 6px;
    padding: 0.3rem 0.5rem;
    max-width: 100%;
  }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
  th { font-weight: 600; }
  .table-wrap { overflow-x: auto; max-width: 100%; position: relative; }
  .muted { color: var(--muted); }
  .error { color: var(--danger-text); }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; }
  pre {
    background: var(--code);
    padding: 0.5rem;
    border-radius: 6px;
    overflow: auto;
    max-height: 20rem;
    white-space: pre-wrap;
    word-break: break-word;
    margin: 0;
  }
  .badge {
    display: inline-block;
    padding: 0 0.45rem;
    border-radius: 999px;
    font-size: 0.8rem;
    font-weight: 600;
    border: 1px solid currentColor;
    white-space: nowrap;
  }
  .s-pending, .s-healthy-neutral { color: var(--c-pending); }
  .s-waiting, .s-delayed { color: var(--c-waiting); }
  .s-assigned, .s-in_progress { color: var(--c-running); }
  .s-completed, .s-healthy { color: var(--c-ok); }
  .s-failed, .s-dead_lettered, .s-dead { color: var(--c-bad); }
  .s-cancelled, .s-stopped { color: var(--c-muted); }
  .s-unhealthy { color: var(--c-warn); }
  .row { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
  .panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 0.75rem; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 0.75rem; margin: 0; }
  dt { font-weight: 600; }
  dd { margin: 0; overflow-wrap: anywhere; }
`,U=76,nt=4,rt=class extends L{constructor(...e){super(...e),this.colScroll={},this.viewport={},this.selected=`pending`,this.scrollFrame=0,this.typeDraft=I.filters.type}static{this.styles=[H,o`
      .filters { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; margin-bottom: 0.75rem; }
      .filters label { display: flex; flex-direction: column; font-size: 0.85rem; font-weight: 600; gap: 0.15rem; }
      .filters input, .filters select { min-width: 8rem; }
      .note { font-size: 0.85rem; color: var(--muted); margin: 0 0 0.5rem; }
      .tabs { display: none; gap: 0.25rem; flex-wrap: wrap; margin-bottom: 0.5rem; }
      .tabs button[aria-pressed='true'] { background: var(--accent); color: #fff; border-color: var(--accent); }
      .columns { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 0.5rem; }
      section.column { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; min-width: 0; display: flex; flex-direction: column; }
      .col-head { padding: 0.5rem; border-bottom: 1px solid var(--border); }
      .col-head h2 { font-size: 0.95rem; margin: 0; display: flex; justify-content: space-between; gap: 0.25rem; flex-wrap: wrap; }
      .count { font-variant-numeric: tabular-nums; }
      .col-head .sub { font-size: 0.78rem; color: var(--muted); margin: 0.15rem 0 0; }
      .scroller { position: relative; overflow-y: auto; height: calc(100vh - 290px); min-height: 280px; }
      .spacer { position: relative; width: 100%; }
      button.card {
        position: absolute; left: 0.35rem; right: 0.35rem; height: ${68}px;
        text-align: left; border: 1px solid var(--border); border-left: 4px solid currentColor;
        background: var(--panel); border-radius: 6px; padding: 0.3rem 0.45rem; overflow: hidden;
        display: flex; flex-direction: column; justify-content: space-between; gap: 0.1rem;
      }
      button.card:hover { background: var(--code); }
      .card .l1, .card .l2 { display: flex; justify-content: space-between; gap: 0.35rem; white-space: nowrap; overflow: hidden; color: var(--fg); }
      .card .type { font-weight: 600; overflow: hidden; text-overflow: ellipsis; }
      .card .l2 { font-size: 0.78rem; color: var(--muted); }
      .card .agent { overflow: hidden; text-overflow: ellipsis; }
      .empty { padding: 0.75rem 0.5rem; color: var(--muted); font-size: 0.85rem; }
      .foot { padding: 0.35rem 0.5rem; font-size: 0.78rem; color: var(--muted); border-top: 1px solid var(--border); }
      @media (max-width: 1100px) { .columns { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
      @media (max-width: 700px) {
        .filters { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 0.4rem 0.5rem; }
        .filters input, .filters select { min-width: 0; width: 100%; }
        .tabs { display: flex; }
        .columns { grid-template-columns: minmax(0, 1fr); }
        section.column:not(.selected) { display: none; }
        .scroller { height: calc(100vh - 330px); }
      }
    `]}connectedCallback(){super.connectedCallback(),this.tick=setInterval(()=>this.requestUpdate(),5e3)}disconnectedCallback(){super.disconnectedCallback(),clearInterval(this.tick)}onScroll(e,t){let n=t.target;this.colScroll[e]=n.scrollTop,this.viewport[e]=n.clientHeight;let r=I.visibleIds(e).length;n.scrollTop+n.clientHeight>r*U-380&&I.loadMore(e),this.scrollFrame||=requestAnimationFrame(()=>{this.scrollFrame=0,this.requestUpdate()})}applyType(e){e.preventDefault();let t=this.typeDraft.trim();t!==I.filters.type&&I.setServerFilters(t,I.filters.agent)}renderFilters(){let e=I.filters;return S`<form class="filters" @submit=${this.applyType} aria-label="Board filters">
      <label
        >Type (server)
        <input
          data-testid="filter-type"
          type="text"
          .value=${this.typeDraft}
          placeholder="any type"
          @input=${e=>this.typeDraft=e.target.value}
          @change=${this.applyType}
      /></label>
      <label
        >Agent (server)
        <select
          data-testid="filter-agent"
          @change=${e=>void I.setServerFilters(I.filters.type,e.target.value)}
        >
          <option value="" ?selected=${e.agent===``}>any agent</option>
          ${I.agents.map(t=>S`<option value=${t.id} ?selected=${e.agent===t.id}>${t.name}</option>`)}
        </select></label
      >
      <label
        >Capability (loaded cards)
        <input
          data-testid="filter-capability"
          type="text"
          .value=${e.capability}
          placeholder="any capability"
          @input=${t=>I.setLocalFilters(t.target.value,e.priority)}
      /></label>
      <label
        >Priority (loaded cards)
        <select
          data-testid="filter-priority"
          @change=${t=>I.setLocalFilters(e.capability,t.target.value)}
        >
          <option value="" ?selected=${e.priority===``}>any</option>
          ${[1,2,3,4,5,6,7,8,9].map(t=>S`<option value=${String(t)} ?selected=${e.priority===String(t)}>${t}</option>`)}
        </select></label
      >
    </form>`}renderColumn(e){let t=e.key,n=I.columns[t],r=I.visibleIds(t),i=n.ids.length,a=!!(I.filters.capability.trim()||I.filters.priority),o=!!(I.filters.type||I.filters.agent),s=I.statsLoaded?String(I.columnCount(t)):``,c=this.colScroll[t]??0,l=this.viewport[t]??900,u=Math.max(0,Math.floor(c/U)-nt),d=Math.min(r.length,Math.ceil((c+l)/U)+nt),ee=Date.now(),te=r.slice(u,d);return S`<section
      class="column ${this.selected===t?`selected`:``}"
      data-testid="column"
      data-status=${t}
      aria-labelledby="h-${t}"
    >
      <div class="col-head">
        <h2 id="h-${t}">
          <span>${e.label}</span>
          <span class="count" title="tasks in these statuses, from the server's statistics"
            ><span data-testid="column-count">${s}</span>${I.statsLoaded?T:S`<span class="muted">…</span>`}</span
          >
        </h2>
        ${a||o?S`<p class="sub">
              ${a?S`${r.length} of the loaded ${i} match · `:S`${i} loaded${o?` matching the server filter`:``} · `}
              ${s||`?`} in all (server count, unfiltered)
            </p>`:S`<p class="sub">${e.statuses.join(`, `).replace(/_/g,` `)} · server count</p>`}
      </div>
      <div class="scroller" tabindex="0" aria-label="${e.label} cards" @scroll=${e=>this.onScroll(t,e)}>
        ${r.length===0?S`<p class="empty">${I.snapshotLoaded?`No loaded task here.`:`Not loaded yet.`}</p>`:S`<div class="spacer" style="height:${r.length*U}px">
              ${te.map((e,t)=>{let n=I.cards.get(e);return n?S`<button
                  class="card s-${n.status}"
                  style="top:${(u+t)*U+4}px"
                  data-testid="card"
                  data-task-id=${n.id}
                  data-status=${n.status}
                  aria-label="Task ${n.task_type} ${B(n.id)}, ${n.status.replace(`_`,` `)}, priority ${n.priority}"
                  @click=${()=>location.hash=`#/task/${n.id}`}
                >
                  <span class="l1"><span class="type">${n.task_type}</span><span class="mono">${B(n.id)}</span></span>
                  <span class="l2"
                    ><span>P${n.priority} · ${n.status.replace(`_`,` `)}</span><span class="agent">${n.agent_name??``}</span
                    ><span>${tt(n.created_at,ee)}</span></span
                  >
                </button>`:T})}
            </div>`}
      </div>
      ${n.loadingMore||n.error||n.more&&i>=2e3?S`<div class="foot">
            ${n.loadingMore?`loading older tasks…`:T} ${n.error?S`<span class="error">${n.error}</span>`:T}
            ${n.more&&i>=2e3?`showing the newest ${i}; older ones are not loaded`:T}
          </div>`:T}
    </section>`}render(){return S`
      <h2 class="sr-only">Task board</h2>
      ${this.renderFilters()}
      ${I.lastError&&I.connection!==`unreachable`?S`<p class="error" role="alert">${I.lastError}</p>`:T}
      <div class="tabs" role="group" aria-label="Column">
        ${P.map(e=>S`<button
            data-testid="column-tab"
            data-status=${e.key}
            aria-pressed=${this.selected===e.key?`true`:`false`}
            @click=${()=>{this.selected=e.key,this.requestUpdate()}}
          >
            ${e.label} (${I.statsLoaded?I.columnCount(e.key):`…`})
          </button>`)}
      </div>
      <div class="columns">${P.map(e=>this.renderColumn(e))}</div>
    `}};customElements.define(`hive-board`,rt);var it=class extends k{constructor(...e){super(...e),this.message=``,this.yes=`Yes`,this.fields=[],this.error=``}static{this.styles=[H,o`
      dialog { border: 1px solid var(--border-strong); border-radius: 8px; background: var(--panel); color: var(--fg); max-width: min(30rem, 92vw); }
      dialog::backdrop { background: rgba(0, 0, 0, 0.4); }
      .actions { display: flex; gap: 0.5rem; justify-content: flex-end; margin-top: 1rem; }
      label { display: block; font-weight: 600; margin: 0.5rem 0 0.2rem; }
      input { width: 100%; }
    `]}ask(e,t=[],n=`Yes`){return this.message=e,this.fields=t,this.yes=n,this.error=``,this.requestUpdate(),this.updateComplete.then(()=>new Promise(e=>{this.resolve=e;let n=this.renderRoot.querySelector(`dialog`);this.renderRoot.querySelectorAll(`input`).forEach((e,n)=>{e.value=t[n]?.value??``}),n.showModal(),(t.length?this.renderRoot.querySelector(`input`):this.renderRoot.querySelector(`[data-testid=confirm-no]`))?.focus()}))}accept(e){e?.preventDefault();let t={},n=[...this.renderRoot.querySelectorAll(`input`)];for(let[e,r]of this.fields.entries()){let i=(n[e]?.value??``).trim();if(r.required&&!i){this.error=`Enter ${r.label.toLowerCase()}.`,this.requestUpdate(),n[e]?.focus();return}t[r.key]=i}this.finish(t)}finish(e){this.renderRoot.querySelectorAll(`input`).forEach(e=>{e.value=``});let t=this.renderRoot.querySelector(`dialog`);t?.open&&t.close();let n=this.resolve;this.resolve=void 0,n?.(e)}render(){return S`<dialog data-testid="confirm-dialog" aria-labelledby="confirm-title" @cancel=${()=>this.finish(null)}>
      <form method="dialog" novalidate @submit=${e=>this.accept(e)}>
        <h2 id="confirm-title">Please confirm</h2>
        <p>${this.message}</p>
        ${this.fields.map(e=>S`<label for="confirm-${e.key}">${e.label}${e.required?``:` (optional)`}</label>
            <input
              id="confirm-${e.key}"
              data-testid="confirm-input-${e.key}"
              type=${e.type??`text`}
              autocomplete=${e.type===`password`?`new-password`:`off`}
              ?required=${!!e.required}
            />`)}
        ${this.error?S`<p class="error" role="alert">${this.error}</p>`:T}
        <div class="actions">
          <button type="button" data-testid="confirm-no" @click=${()=>this.finish(null)}>No, keep it</button>
          <button type="submit" class="danger" data-testid="confirm-yes">${this.yes}</button>
        </div>
      </form>
    </dialog>`}};customElements.define(`hive-confirm`,it);var W;function at(){return W||(W=document.createElement(`hive-confirm`),document.body.appendChild(W)),W}function ot(e){return at().ask(e).then(e=>e!==null)}function G(e,t,n=`Yes`){return at().ask(e,t,n)}var K=[`completed`,`failed`,`cancelled`,`dead_lettered`],st=24,ct={pending:`#dce7f3`,waiting:`#fbeccc`,delayed:`#fbeccc`,assigned:`#d5e6fa`,in_progress:`#d5e6fa`,completed:`#d6f0de`,failed:`#fadad7`,dead_lettered:`#fadad7`,cancelled:`#e4e7eb`,unknown:`#eeeeee`},lt=class extends k{constructor(...e){super(...e),this.tid=``,this.task=null,this.attempts=null,this.why=``,this.deps=new Map,this.error=``,this.actionMsg=``,this.actionErr=``,this.busy=!1}static{this.styles=[H,o`
      .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); gap: 0.75rem; }
      .actions { display: flex; gap: 0.5rem; flex-wrap: wrap; margin: 0.5rem 0; }
      svg { max-width: 100%; height: auto; background: var(--panel); }
      .head { display: flex; gap: 0.75rem; align-items: baseline; flex-wrap: wrap; }
      .head h2 { margin: 0; overflow-wrap: anywhere; }
    `]}set taskId(e){e!==this.tid&&(this.tid=e,this.task=null,this.attempts=null,this.deps=new Map,this.why=``,this.error=``,this.actionMsg=``,this.actionErr=``,this.load())}get taskId(){return this.tid}connectedCallback(){super.connectedCallback(),this.unsub=R(e=>!!this.tid&&(e.subject===this.tid||this.deps.has(e.subject)||e.kind.startsWith(`queue.`)&&!!this.task&&!K.includes(this.task.status)),100,()=>void this.load())}disconnectedCallback(){super.disconnectedCallback(),this.unsub?.()}async load(){let e=this.tid;if(!e)return;let t=encodeURIComponent(e);try{let[n,r]=await Promise.all([j(`GET`,`/tasks/${t}`),j(`GET`,`/tasks/${t}/attempts`).catch(()=>null)]);if(e!==this.tid)return;this.task=n,this.attempts=r?r.attempts:null,this.error=``,this.why=n.status!==`assigned`&&n.status!==`in_progress`&&!K.includes(n.status)?await j(`GET`,`/tasks/${t}/why`).then(e=>e.reason).catch(e=>`could not ask why: ${M(e)}`):``;let i=n.dependencies.slice(0,st),a=await Promise.all(i.map(e=>j(`GET`,`/tasks/${encodeURIComponent(e)}`).catch(()=>null)));if(e!==this.tid)return;this.deps=new Map(i.map((e,t)=>[e,a[t]]))}catch(t){if(e!==this.tid)return;this.error=M(t)}this.requestUpdate()}async retry(){this.busy=!0,this.actionErr=``,this.requestUpdate();try{await j(`POST`,`/dead-letters/${encodeURIComponent(this.tid)}/retry`),this.actionMsg=`Sent back to pending with a fresh attempt budget.`}catch(e){this.actionErr=M(e)}this.busy=!1,await this.load()}async cancel(){if(await ot(`Cancel task ${this.tid}?`)){this.busy=!0,this.actionErr=``,this.requestUpdate();try{await j(`POST`,`/tasks/${encodeURIComponent(this.tid)}/cancel`),this.actionMsg=`Cancelled.`}catch(e){this.actionErr=M(e)}this.busy=!1,await this.load()}}renderDeps(e){let t=[...this.deps.entries()],n=Math.max(1,t.length)*44+16,r=n/2;return S`<svg data-testid="task-deps" viewBox="0 0 ${420} ${n}" width=${420} height=${n} role="group" aria-label=${t.length?`Dependencies: ${t.map(([e,t])=>`${B(e)} ${t?t.status:`not found`}`).join(`, `)}`:`No dependencies`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#4f5863"></path>
        </marker>
      </defs>
      ${t.map(([e,t],n)=>{let i=8+n*44,a=t?t.status:`unknown`;return C`<g data-testid="dep-node" data-task-id=${e} data-status=${a}>
          <a href="#/task/${e}" aria-label=${`Dependency ${t?t.task_type:``} ${e}: ${a.replace(`_`,` `)}`}>
            <rect x="4" y=${i} width="196" height=${36} rx="6" fill=${ct[a]??ct.unknown} stroke="#4f5863"></rect>
            <text x="12" y=${i+15} font-size="13" fill="#1b1f24">${t?t.task_type:`not found`} ${B(e)}</text>
            <text x="12" y=${i+31} font-size="13" fill="#1b1f24" font-weight="600">${a.replace(`_`,` `)}</text>
          </a>
          <line x1="200" y1=${i+18} x2="240" y2=${r} stroke="#4f5863" marker-end="url(#arrow)"></line>
        </g>`})}
      <g aria-hidden="true">
        <rect x="242" y=${r-18} width="174" height="36" rx="6" fill=${ct[e.status]??ct.unknown} stroke="#1b1f24" stroke-width="2"></rect>
        <text x="250" y=${r+4} font-size="13" fill="#1b1f24">this task: ${e.status.replace(`_`,` `)}</text>
      </g>
    </svg>`}render(){if(!this.tid)return S`<p>No task selected.</p>`;let e=this.task;if(!e)return S`<section data-testid="task-detail">
        <h2>Task ${this.tid}</h2>
        ${this.error?S`<p class="error" role="alert">${this.error}</p>`:S`<p class="muted">Loading…</p>`}
      </section>`;let t=e.error&&/Traceback|\n\s+at |\n\s+File "/.test(e.error),n=!K.includes(e.status);return S`<section data-testid="task-detail">
      <p><a href="#/board">← Board</a></p>
      <div class="head">
        <h2>${e.task_type} <span class="mono">${e.id}</span></h2>
        <span class="badge s-${e.status}" data-testid="task-status">${e.status}</span>
      </div>
      ${this.error?S`<p class="error" role="alert">${this.error}</p>`:T}
      <div class="actions">
        <button data-testid="task-retry" ?disabled=${this.busy||e.status!==`dead_lettered`} @click=${()=>void this.retry()}>
          Retry (dead letters only)
        </button>
        <button class="danger" data-testid="task-cancel" ?disabled=${this.busy||!n} @click=${()=>void this.cancel()}>
          Cancel task
        </button>
        ${this.actionMsg?S`<span role="status">${this.actionMsg}</span>`:T}
        ${this.actionErr?S`<span class="error" role="alert">${this.actionErr}</span>`:T}
      </div>
      <div class="grid">
        <div class="panel">
          <h3>Where it is</h3>
          <dl>
            <dt>Priority</dt><dd>${e.priority}</dd>
            <dt>Capabilities</dt><dd>${e.capabilities.length?e.capabilities.join(`, `):`none`}</dd>
            <dt>Worker</dt><dd>${e.worker??`—`}${e.agent_name?` (agent ${e.agent_name})`:``}</dd>
            <dt>Attempts</dt><dd>${e.attempts} of ${e.max_attempts}</dd>
            <dt>Created</dt><dd>${z(e.created_at)}</dd>
            <dt>Started</dt><dd>${z(e.started_at)}</dd>
            <dt>Finished</dt><dd>${z(e.finished_at)}</dd>
            <dt>Run at</dt><dd>${z(e.run_at)}</dd>
            <dt>Lease until</dt><dd>${z(e.lease_expires_at)}</dd>
            <dt>Timeout</dt><dd>${e.timeout} ms</dd>
            <dt>Trace</dt><dd data-testid="task-trace" title=${e.traceparent??``}>${e.traceparent?e.traceparent.split(`-`)[1]:`—`}</dd>
          </dl>
          <h3>Why is it not running</h3>
          <p data-testid="task-why">${this.why||(K.includes(e.status)?`It has ended (${e.status.replace(`_`,` `)}).`:`It is running.`)}</p>
        </div>
        <div class="panel">
          <h3>Dependencies</h3>
          ${this.renderDeps(e)}
          ${e.dependencies.length>st?S`<p class="muted">Showing ${st} of ${e.dependencies.length}.</p>`:T}
        </div>
        <div class="panel">
          <h3>Payload</h3>
          <pre data-testid="task-payload" tabindex="0">${V(e.payload)}</pre>
          <h3>Result</h3>
          <pre data-testid="task-result" tabindex="0">${e.result===null||e.result===void 0?`—`:V(e.result)}</pre>
          <h3>${t?`Error and traceback`:`Error`}</h3>
          <pre data-testid="task-error" tabindex="0">${e.error??`—`}</pre>
        </div>
        <div class="panel">
          <h3>Attempts</h3>
          <div class="table-wrap" data-testid="task-attempts" tabindex="0" role="region" aria-label="Attempts">
            ${this.attempts===null?S`<p class="muted">Attempts could not be read.</p>`:this.attempts.length===0?S`<p class="muted">No attempt yet.</p>`:S`<table>
                    <thead><tr><th scope="col">#</th><th scope="col">Worker</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Outcome</th><th scope="col">Error</th></tr></thead>
                    <tbody>
                      ${this.attempts.map(e=>S`<tr>
                          <td>${e.attempt}</td>
                          <td>${e.agent_name??e.worker}</td>
                          <td>${z(e.started_at)}</td>
                          <td>${z(e.finished_at)}</td>
                          <td>${e.outcome.replace(`_`,` `)}</td>
                          <td>${e.error??``}</td>
                        </tr>`)}
                    </tbody>
                  </table>`}
          </div>
        </div>
      </div>
    </section>`}};customElements.define(`hive-task`,lt);var ut=50,dt=[`task.claimed`,`task.completed`,`task.failed`,`task.released`,`task.dead_lettered`,`task.cancelled`],ft=class extends L{constructor(...e){super(...e),this.running=new Map,this.msg=``,this.err=``,this.onVisibility=()=>{document.visibilityState===`visible`&&this.refresh()}}static{this.styles=[H,o`
      td.num { font-variant-numeric: tabular-nums; }
      .caps { display: flex; flex-wrap: wrap; gap: 0.25rem; }
      .cap { background: var(--code); border-radius: 4px; padding: 0 0.3rem; font-size: 0.85em; }
    `]}connectedCallback(){super.connectedCallback(),this.refresh(),this.poll=setInterval(()=>{document.visibilityState===`visible`&&this.refresh()},5e3),this.tick=setInterval(()=>this.requestUpdate(),1e3),document.addEventListener(`visibilitychange`,this.onVisibility),this.unsubEvents=R(e=>dt.includes(e.kind),300,()=>void this.loadRunning())}disconnectedCallback(){super.disconnectedCallback(),clearInterval(this.poll),clearInterval(this.tick),document.removeEventListener(`visibilitychange`,this.onVisibility),this.unsubEvents?.()}async refresh(){await I.loadAgents(),await this.loadRunning()}async loadRunning(){let e=I.agents.filter(e=>e.status!==`stopped`&&e.status!==`dead`).slice(0,ut),t=await Promise.all(e.map(e=>j(`GET`,`/tasks${N({agent:e.id,status:`assigned,in_progress`,limit:1})}`).then(e=>e.tasks[0]?{id:e.tasks[0].id,type:e.tasks[0].task_type}:null).catch(()=>void 0)));e.forEach((e,n)=>{let r=t[n];r!==void 0&&this.running.set(e.id,r)}),this.requestUpdate()}async terminate(e){if(await ot(`Terminate agent ${e.name}? It stops taking work.`)){this.msg=``,this.err=``;try{await j(`DELETE`,`/agents/${encodeURIComponent(e.id)}`),this.msg=`Agent ${e.name} terminated.`}catch(e){this.err=M(e)}await this.refresh()}}load(e){let t=e.metadata,n=t&&typeof t==`object`&&typeof t.concurrency==`number`?t.concurrency:null;return n===null?String(e.load):`${e.load} / ${n}`}render(){let e=Date.now(),t=[...I.agents].sort((e,t)=>e.name.localeCompare(t.name));return S`<h2>Agents</h2>
      <p class="muted">From <span class="mono">GET /agents</span>, re-read every 5 s while shown (heartbeats are not events).</p>
      ${I.agentsError?S`<p class="error" role="alert">${I.agentsError}</p>`:T}
      ${this.msg?S`<p role="status">${this.msg}</p>`:T}
      ${this.err?S`<p class="error" role="alert">${this.err}</p>`:T}
      ${I.agentsLoaded?t.length===0?S`<p>No agent is registered.</p>`:S`<div class="table-wrap" tabindex="0" role="region" aria-label="Table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Load</th>
                    <th scope="col">Capabilities</th><th scope="col">Heartbeat</th><th scope="col">Running</th><th scope="col"><span class="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  ${t.map(t=>{let n=this.running.get(t.id);return S`<tr data-testid="agent-row" data-agent-id=${t.id} data-status=${t.status}>
                      <td>${t.name}<br /><span class="mono muted">${B(t.id)}</span></td>
                      <td>${t.kind}</td>
                      <td><span class="badge s-${t.status}" data-testid="agent-status">${t.status}</span></td>
                      <td class="num" data-testid="agent-load">${this.load(t)}</td>
                      <td><span class="caps">${t.capabilities.map(e=>S`<span class="cap">${e}</span>`)}</span></td>
                      <td class="num" data-testid="agent-heartbeat-age">${tt(t.last_heartbeat,e)} ago</td>
                      <td data-testid="agent-task">${n?S`<a href="#/task/${n.id}">${n.type} ${B(n.id)}</a>`:n===null?`idle`:`—`}</td>
                      <td>
                        <button class="danger" data-testid="agent-terminate" ?disabled=${t.status===`stopped`} @click=${()=>void this.terminate(t)}>
                          Terminate<span class="sr-only"> ${t.name}</span>
                        </button>
                      </td>
                    </tr>`})}
                </tbody>
              </table>
            </div>`:S`<p class="muted">Loading…</p>`}`}};customElements.define(`hive-agents`,ft);var pt=class extends k{constructor(...e){super(...e),this.sessions=null,this.error=``}static{this.styles=[H]}connectedCallback(){super.connectedCallback(),this.load(),this.unsub=R(e=>e.kind.startsWith(`session.`),200,()=>void this.load())}disconnectedCallback(){super.disconnectedCallback(),this.unsub?.()}async load(){try{this.sessions=await j(`GET`,`/sessions?limit=200`),this.error=``}catch(e){this.error=M(e)}this.requestUpdate()}render(){return S`<h2>Sessions</h2>
      ${this.error?S`<p class="error" role="alert">${this.error}</p>`:T}
      ${this.sessions===null?this.error?T:S`<p class="muted">Loading…</p>`:this.sessions.length===0?S`<p>No session yet.</p>`:S`<div class="table-wrap" tabindex="0" role="region" aria-label="Table">
              <table>
                <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Agents</th><th scope="col">Created</th><th scope="col">Closed</th></tr></thead>
                <tbody>
                  ${this.sessions.map(e=>S`<tr data-testid="session-row" data-session-id=${e.id}>
                      <td><a href="#/session/${e.id}">${e.name}</a> <span class="mono muted">${B(e.id)}</span></td>
                      <td>${e.status}</td>
                      <td>${e.agents.join(`, `)||`—`}</td>
                      <td>${z(e.created_at)}</td>
                      <td>${z(e.closed_at)}</td>
                    </tr>`)}
                </tbody>
              </table>
            </div>`}`}};customElements.define(`hive-sessions`,pt);var mt=class extends k{constructor(...e){super(...e),this.tid=``,this.session=null,this.conversation=[],this.error=``}static{this.styles=[H,o`
      ol { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--border-strong); }
      li { margin: 0 0 0.75rem; padding-left: 0.75rem; position: relative; }
      li::before { content: ''; position: absolute; left: -0.45rem; top: 0.35rem; width: 0.6rem; height: 0.6rem; border-radius: 50%; background: var(--accent); }
      .who { font-weight: 600; }
      .text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.2rem 0 0; }
    `]}set sessionId(e){e!==this.tid&&(this.tid=e,this.session=null,this.conversation=[],this.load())}get sessionId(){return this.tid}connectedCallback(){super.connectedCallback(),this.unsub=R(e=>e.kind.startsWith(`session.`)&&e.subject===this.tid,100,()=>void this.load())}disconnectedCallback(){super.disconnectedCallback(),this.unsub?.()}async load(){let e=this.tid;if(e){try{let t=await j(`GET`,`/sessions/${encodeURIComponent(e)}`);if(e!==this.tid)return;this.session=t.session,this.conversation=t.conversation,this.error=``}catch(e){this.error=M(e)}this.requestUpdate()}}render(){let e=this.session;return S`<p><a href="#/sessions">← Sessions</a></p>
      <h2>Session ${e?e.name:this.tid}</h2>
      ${this.error?S`<p class="error" role="alert">${this.error}</p>`:T}
      ${e?S`<p>
              ${e.status} · agents: ${e.agents.join(`, `)||`none`} · created ${z(e.created_at)}${e.closed_at?` · closed ${z(e.closed_at)}`:``}
            </p>
            <h3>Conversation</h3>
            <ol data-testid="session-timeline" aria-label="Conversation">
              ${this.conversation.length===0?S`<li>Nothing said yet.</li>`:T}
              ${this.conversation.map(e=>S`<li data-testid="session-entry">
                  <span class="who">${e.from_agent} → ${e.to_agent??`everyone`}</span>
                  <span class="muted"> · #${e.seq} · <time datetime=${e.at}>${z(e.at)}</time></span>
                  <p class="text ${typeof e.content==`string`?``:`mono`}">${typeof e.content==`string`?e.content:V(e.content)}</p>
                </li>`)}
            </ol>`:this.error?T:S`<p class="muted">Loading…</p>`}`}};customElements.define(`hive-session`,mt);var ht=class extends k{constructor(...e){super(...e),this.rows=null,this.error=``,this.msg=``}static{this.styles=[H]}connectedCallback(){super.connectedCallback(),this.load(),this.unsub=R(e=>e.kind===`task.dead_lettered`||e.kind===`task.retried`||e.kind===`queue.purged`,200,()=>void this.load())}disconnectedCallback(){super.disconnectedCallback(),this.unsub?.()}async load(){try{this.rows=await j(`GET`,`/dead-letters?limit=200`),this.error=``}catch(e){this.error=M(e)}this.requestUpdate()}async retry(e){this.msg=``;try{await j(`POST`,`/dead-letters/${encodeURIComponent(e.id)}/retry`),this.msg=`Task ${B(e.id)} sent back to pending.`}catch(e){this.error=M(e)}await this.load()}async purge(){if(await ot(`Delete every dead-lettered task? This cannot be undone.`)){this.msg=``;try{let e=await j(`POST`,`/dead-letters/purge`,{});this.msg=`Purged ${e.purged} dead-lettered task${e.purged===1?``:`s`}.`}catch(e){this.error=M(e)}await this.load()}}render(){let e=this.rows;return S`<h2>Dead letters</h2>
      <div class="row">
        <button class="danger" data-testid="dead-letters-purge" ?disabled=${!e||e.length===0} @click=${()=>void this.purge()}>
          Purge all…
        </button>
        <span class="muted">Dead-lettered tasks (count from the server: ${I.statsLoaded?I.counts.dead_lettered:`…`}), newest first.</span>
      </div>
      ${this.msg?S`<p role="status">${this.msg}</p>`:T}
      ${this.error?S`<p class="error" role="alert">${this.error}</p>`:T}
      ${e===null?this.error?T:S`<p class="muted">Loading…</p>`:e.length===0?S`<p>No dead-lettered task.</p>`:S`<div class="table-wrap" tabindex="0" role="region" aria-label="Table">
              <table>
                <thead><tr><th scope="col">Task</th><th scope="col">Type</th><th scope="col">Attempts</th><th scope="col">Error</th><th scope="col">Finished</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
                <tbody>
                  ${e.map(e=>S`<tr data-testid="dead-letter-row" data-task-id=${e.id}>
                      <td><a href="#/task/${e.id}" class="mono">${B(e.id)}</a></td>
                      <td>${e.task_type}</td>
                      <td>${e.attempts} / ${e.max_attempts}</td>
                      <td>${e.error??``}</td>
                      <td>${z(e.finished_at)}</td>
                      <td><button data-testid="dead-letter-retry" @click=${()=>void this.retry(e)}>Retry<span class="sr-only"> ${e.id}</span></button></td>
                    </tr>`)}
                </tbody>
              </table>
            </div>`}`}};customElements.define(`hive-dead-letters`,ht);var gt=200,_t=class extends L{constructor(...e){super(...e),this.filter=``}static{this.styles=[H,o`
      label { font-weight: 600; display: inline-flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
      ol { list-style: none; padding: 0; margin: 0.75rem 0 0; }
      li { display: grid; grid-template-columns: 5rem 11rem minmax(0, 1fr); gap: 0.5rem; padding: 0.3rem 0; border-bottom: 1px solid var(--border); }
      .data { overflow-wrap: anywhere; }
      @media (max-width: 700px) { li { grid-template-columns: 4rem minmax(0, 1fr); } .data { grid-column: 1 / -1; } }
    `]}render(){let e=this.filter.trim().toLowerCase(),t=I.events,n=e?t.filter(t=>t.kind.toLowerCase().includes(e)||t.subject.toLowerCase().includes(e)):t,r=n.slice(0,gt);return S`<h2>Events</h2>
      <p class="muted">
        The live feed, newest first (the newest ${Ye} kept in this page; ${r.length} of ${n.length} matching shown).
      </p>
      <label
        >Filter by kind or subject
        <input
          data-testid="event-filter"
          type="search"
          .value=${this.filter}
          @input=${e=>{this.filter=e.target.value,this.requestUpdate()}}
      /></label>
      <ol data-testid="event-feed" aria-label="Events">
        ${r.length===0?S`<li><span></span><span class="muted">No event received yet.</span></li>`:T}
        ${r.map(e=>S`<li data-testid="event-row" data-seq=${String(e.seq)} data-kind=${e.kind}>
            <span class="mono">#${e.seq}</span>
            <span><strong>${e.kind}</strong><br /><span class="muted">${new Date(e.at).toLocaleTimeString()}</span></span>
            <span class="data mono"
              >${e.kind.startsWith(`task.`)?S`<a href="#/task/${e.subject}">${B(e.subject)}</a>`:e.subject}
              ${e.data&&Object.keys(e.data).length?JSON.stringify(e.data):``}</span
            >
          </li>`)}
      </ol>`}};customElements.define(`hive-events`,_t);var vt=/^[^\s,\x00-\x1F\x7F-\x9F]{1,100}$/,yt=/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,bt=class extends k{constructor(...e){super(...e),this.errors={},this.serverError=``,this.ok=null,this.busy=!1}static{this.styles=[H,o`
      form { max-width: 40rem; display: grid; gap: 0.75rem; }
      label { font-weight: 600; display: block; margin-bottom: 0.2rem; }
      input, textarea { width: 100%; }
      textarea { min-height: 8rem; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
      .hint { font-size: 0.85rem; color: var(--muted); margin: 0.15rem 0 0; }
      .field-error { color: var(--danger-text); font-size: 0.9rem; margin: 0.15rem 0 0; }
      .two { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: 0.75rem; }
    `]}value(e){return(this.renderRoot.querySelector(`#${e}`)?.value??``).trim()}async submit(e){if(e.preventDefault(),this.busy)return;let t={},n={},r=this.value(`type`);r?r.length>200?t.type=`At most 200 characters.`:n.type=r:t.type=`A type is required.`;let i=this.value(`payload`);if(i)try{n.payload=JSON.parse(i)}catch(e){t.payload=`Not valid JSON: ${e instanceof Error?e.message:String(e)}`}let a=this.value(`priority`);if(a){let e=Number(a);!/^\d+$/.test(a)||e<1||e>9?t.priority=`Priority is a whole number from 1 (most urgent) to 9.`:n.priority=e}let o=this.value(`capabilities`);if(o){let e=o.split(`,`).map(e=>e.trim()).filter(Boolean),r=e.filter(e=>!vt.test(e));r.length?t.capabilities=`Not a capability: ${r.join(`, `)} (1–100 characters, no spaces, commas or control characters).`:n.capabilities=[...new Set(e)]}let s=this.value(`depends-on`);if(s){let e=s.split(`,`).map(e=>e.trim()).filter(Boolean),r=e.filter(e=>!yt.test(e));r.length?t[`depends-on`]=`Not a task id (UUID): ${r.join(`, `)}`:n.depends_on=e}let c=this.value(`delay`);c&&(/^\d+$/.test(c)?n.delay_ms=Number(c):t.delay=`A whole number of milliseconds (0 or more).`);let l=this.value(`max-attempts`);if(l&&(!/^\d+$/.test(l)||Number(l)<1?t[`max-attempts`]=`A whole number, 1 or more.`:n.max_attempts=Number(l)),this.errors=t,this.serverError=``,this.ok=null,Object.keys(t).length>0)this.requestUpdate();else{this.busy=!0,this.requestUpdate();try{let e=await j(`POST`,`/tasks`,n);this.ok=e.task}catch(e){this.serverError=e instanceof A?`${e.code}: ${e.message}`:M(e)}this.busy=!1,this.requestUpdate()}}err(e){let t=this.errors[e];return t?S`<p class="field-error" id="err-${e}" data-testid="submit-error-${e}" role="alert">${t}</p>`:T}described(e){return this.errors[e]?`err-${e}`:`hint-${e}`}render(){return S`<h2>Submit a task</h2>
      <form data-testid="submit-form" novalidate @submit=${e=>void this.submit(e)}>
        <div>
          <label for="type">Type (required)</label>
          <input id="type" data-testid="submit-type" type="text" maxlength="200" aria-invalid=${this.errors.type?`true`:`false`} aria-describedby=${this.described(`type`)} />
          <p class="hint" id="hint-type">What kind of work: workers dispatch on it.</p>
          ${this.err(`type`)}
        </div>
        <div>
          <label for="payload">Payload (JSON)</label>
          <textarea id="payload" data-testid="submit-payload" spellcheck="false" aria-invalid=${this.errors.payload?`true`:`false`} aria-describedby=${this.described(`payload`)}></textarea>
          <p class="hint" id="hint-payload">Any JSON value; empty means null.</p>
          ${this.err(`payload`)}
        </div>
        <div class="two">
          <div>
            <label for="priority">Priority (1 most urgent … 9)</label>
            <input id="priority" data-testid="submit-priority" type="text" inputmode="numeric" value="5" aria-invalid=${this.errors.priority?`true`:`false`} aria-describedby=${this.described(`priority`)} />
            <p class="hint" id="hint-priority">Default 5.</p>
            ${this.err(`priority`)}
          </div>
          <div>
            <label for="max-attempts">Max attempts (optional)</label>
            <input id="max-attempts" data-testid="submit-max-attempts" type="text" inputmode="numeric" aria-describedby=${this.described(`max-attempts`)} />
            <p class="hint" id="hint-max-attempts">Before it is dead-lettered.</p>
            ${this.err(`max-attempts`)}
          </div>
          <div>
            <label for="delay">Delay in ms (optional)</label>
            <input id="delay" data-testid="submit-delay" type="text" inputmode="numeric" aria-describedby=${this.described(`delay`)} />
            <p class="hint" id="hint-delay">Not to run before then.</p>
            ${this.err(`delay`)}
          </div>
        </div>
        <div>
          <label for="capabilities">Capabilities (comma separated)</label>
          <input id="capabilities" data-testid="submit-capabilities" type="text" aria-describedby=${this.described(`capabilities`)} />
          <p class="hint" id="hint-capabilities">A worker must have all of them.</p>
          ${this.err(`capabilities`)}
        </div>
        <div>
          <label for="depends-on">Depends on (comma separated task ids)</label>
          <input id="depends-on" data-testid="submit-depends-on" type="text" aria-describedby=${this.described(`depends-on`)} />
          <p class="hint" id="hint-depends-on">Tasks that must complete first.</p>
          ${this.err(`depends-on`)}
        </div>
        <div class="row">
          <button class="primary" type="submit" data-testid="submit-send" ?disabled=${this.busy}>Submit</button>
          ${this.busy?S`<span>Sending…</span>`:T}
        </div>
        ${this.serverError?S`<p class="error" role="alert" data-testid="submit-error-server">The server refused it: ${this.serverError}</p>`:T}
        ${this.ok?S`<p role="status" data-testid="submit-ok">
              Submitted: <a href="#/task/${this.ok.id}">task ${this.ok.id}</a> (${this.ok.status}).
            </p>`:T}
      </form>`}};customElements.define(`hive-submit`,bt);var xt=560,St=200,q={l:52,r:10,t:24,b:28};function Ct(e,t=2){return e==null||Number.isNaN(e)?`none`:Math.abs(e)>=100?e.toFixed(0):Number(e.toFixed(t)).toString()}function wt(e){for(let t=e.length-1;t>=0;t--)if(e[t]!==null)return e[t];return null}function Tt(e,t,n,r,i){let a=r.flatMap(e=>e.values.filter(e=>e!==null)),o=Math.max(0,...a),s=o>0?o*1.1:1,c=n.length,l=e=>q.l+(c<=1?0:e*(xt-q.l-q.r)/(c-1)),u=e=>q.t+(St-q.t-q.b)*(1-e/s),d=r.map(e=>{let t=``,n=!1;e.values.forEach((e,r)=>{e===null?n=!1:(t+=`${n?`L`:`M`}${l(r).toFixed(1)},${u(e).toFixed(1)} `,n=!0)});let r=e.values.map((t,n)=>t!==null&&(n===0||e.values[n-1]===null)&&(n===c-1||e.values[n+1]===null)?C`<circle cx=${l(n).toFixed(1)} cy=${u(t).toFixed(1)} r="2.5" fill=${e.color}></circle>`:T);return C`<path d=${t||`M0,0`} fill="none" stroke=${e.color} stroke-width="2"></path>${r}`}),ee=[0,s/2,s],te=n[0]?new Date(n[0]).toLocaleTimeString():``,ne=n[c-1]?new Date(n[c-1]).toLocaleTimeString():``;return S`<svg data-testid=${e} viewBox="0 0 ${xt} ${St}" role="img" aria-label=${t} preserveAspectRatio="xMidYMid meet">
      ${ee.map(e=>C`<line x1=${q.l} x2=${xt-q.r} y1=${u(e)} y2=${u(e)} stroke="#c9ced4" stroke-width="1"></line>
          <text x=${q.l-4} y=${u(e)+4} font-size="11" text-anchor="end" fill="currentColor">${Ct(e)}</text>`)}
      <text x=${q.l} y=${192} font-size="11" fill="currentColor">${te}</text>
      <text x=${xt-q.r} y=${192} font-size="11" text-anchor="end" fill="currentColor">${ne}</text>
      <text x="4" y="12" font-size="11" fill="currentColor">${i}</text>
      ${d}
    </svg>
    <ul class="legend">
      ${r.map(e=>S`<li><span class="swatch" style="background:${e.color}"></span>${e.name}: ${Ct(wt(e.values))}</li>`)}
    </ul>`}var Et=[{name:`pending`,statuses:[`pending`],color:`#32577d`},{name:`waiting + delayed`,statuses:[`waiting`,`delayed`],color:`#a86f00`},{name:`running`,statuses:[`assigned`,`in_progress`],color:`#1d7fd8`},{name:`dead-lettered`,statuses:[`dead_lettered`],color:`#b42318`}],Dt=class extends k{constructor(...e){super(...e),this.data=null,this.outcomes=null,this.error=``,this.alive=!1}static{this.styles=[H,o`
      .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 26rem), 1fr)); gap: 0.75rem; }
      svg { width: 100%; height: auto; display: block; color: var(--fg); }
      .legend { list-style: none; padding: 0; margin: 0.35rem 0 0; display: flex; gap: 0.3rem 1rem; flex-wrap: wrap; font-size: 0.85rem; }
      .swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin-right: 0.3rem; vertical-align: -1px; }
      h3 { margin-top: 0; }
      h3.spend { margin-top: 1.25rem; }
      td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    `]}connectedCallback(){super.connectedCallback(),this.alive=!0,this.load()}disconnectedCallback(){super.disconnectedCallback(),this.alive=!1,clearTimeout(this.timer)}async load(){clearTimeout(this.timer);try{let[e,t]=await Promise.all([j(`GET`,`/metrics/series`),j(`GET`,`/outcomes/metrics?group_by=agent`)]);this.data=e,this.outcomes=t,this.error=``}catch(e){this.error=M(e)}if(this.requestUpdate(),!this.alive)return;let e=Math.max(1,this.data?.interval_secs??5)*1e3;this.timer=setTimeout(()=>{document.visibilityState===`visible`?this.load():this.timer=setTimeout(()=>void this.load(),e)},e)}charts(e){let t=Ue(e),n=t.map(e=>e.at),r=Math.max(1,e.interval_secs),i=[{name:`completed / s`,color:`#1d6b3a`,values:t.map(e=>e.completed/r)}],a=Et.map(e=>({name:e.name,color:e.color,values:t.map(t=>e.statuses.reduce((e,n)=>e+(t.depth[n]??0),0))})),o=[{name:`wait p50 ms`,color:`#32577d`,values:t.map(e=>e.wait_p50_ms)},{name:`wait p95 ms`,color:`#7c9cc4`,values:t.map(e=>e.wait_p95_ms)},{name:`run p50 ms`,color:`#a86f00`,values:t.map(e=>e.run_p50_ms)},{name:`run p95 ms`,color:`#d9a441`,values:t.map(e=>e.run_p95_ms)}],s=[{name:`failure rate %`,color:`#b42318`,values:t.map(e=>{let t=e.completed+e.failed+e.dead_lettered;return t===0?null:(e.failed+e.dead_lettered)*100/t})}],c=t[t.length-1],l=e=>e.map(e=>`${e.name} ${Ct(wt(e.values))}`).join(`, `),u=c?` (newest point ${c.at}${c.partial?`, still filling`:``}; latest known values)`:` (no point yet)`;return S`<div class="charts">
      <section class="panel"><h3>Completed tasks per second</h3>
        ${Tt(`chart-throughput`,`Completed tasks per second${u}: ${l(i)}`,n,i,`tasks/s`)}</section>
      <section class="panel"><h3>Queue depth by status</h3>
        ${Tt(`chart-depth`,`Queue depth by status${u}: ${l(a)}`,n,a,`tasks`)}</section>
      <section class="panel"><h3>Wait (submit → start) and run time</h3>
        ${Tt(`chart-latency`,`Wait and run time percentiles${u}: ${l(o)}`,n,o,`ms`)}</section>
      <section class="panel"><h3>Failure rate</h3>
        ${Tt(`chart-failure`,`Failure rate${u}: ${l(s)}`,n,s,`%`)}</section>
    </div>`}render(){let e=this.data;return S`<section data-testid="metrics">
      <h2>Metrics</h2>
      <p class="muted">
        From <span class="mono">GET /metrics/series</span>${e?`: ${Ue(e).length} points, one every ${e.interval_secs} s over ${e.window_secs} s, re-read every ${e.interval_secs} s while shown`:``}.
      </p>
      ${this.error?S`<p class="error" role="alert">Could not read the series: ${this.error}</p>`:T}
      ${e?this.charts(e):this.error?T:S`<p class="muted">Loading…</p>`}
      <h3 class="spend">Spend per agent</h3>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Table">
        <table data-testid="spend-table">
          <thead>
            <tr><th scope="col">Agent</th><th scope="col" class="num">Tasks</th><th scope="col" class="num">Tokens in</th><th scope="col" class="num">Tokens out</th><th scope="col" class="num">USD</th><th scope="col" class="num">Unpriced tasks</th></tr>
          </thead>
          <tbody>
            ${!e||e.spend.length===0?S`<tr><td colspan="6">${e?`no spend recorded`:`—`}</td></tr>`:e.spend.map(e=>S`<tr>
                    <td>${e.agent}</td>
                    <td class="num">${e.tasks}</td>
                    <td class="num">${e.input_tokens}</td>
                    <td class="num">${e.output_tokens}</td>
                    <td class="num">${e.cost_usd.toFixed(4)}</td>
                    <td class="num">${e.unpriced_tasks??`—`}</td>
                  </tr>`)}
          </tbody>
        </table>
      </div>
      ${this.renderOutcomes()}
    </section>`}renderOutcomes(){let e=this.outcomes,t=e=>`${(e*100).toFixed(1)} %`;return S`<h3 class="spend">Outcomes by agent</h3>
      <p class="muted">Every task an agent finished, from <span class="mono">GET /outcomes/metrics?group_by=agent</span> (all time).</p>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Outcomes by agent">
        <table data-testid="outcomes-table">
          <thead>
            <tr><th scope="col">Agent</th><th scope="col" class="num">Tasks</th><th scope="col" class="num">Succeeded</th><th scope="col" class="num">Dead-lettered</th><th scope="col" class="num">Success</th><th scope="col" class="num">Retries</th><th scope="col" class="num">Run p50 / p95 ms</th><th scope="col" class="num">USD per task</th></tr>
          </thead>
          <tbody>
            ${!e||e.length===0?S`<tr><td colspan="8">${e?`no outcomes yet`:`—`}</td></tr>`:e.map(e=>S`<tr>
                    <td>${e.key??`(no agent)`}</td>
                    <td class="num">${e.tasks}</td>
                    <td class="num">${e.succeeded}</td>
                    <td class="num">${e.dead_lettered}</td>
                    <td class="num">${t(e.success_rate)}</td>
                    <td class="num">${e.retries}</td>
                    <td class="num">${e.p50_run_ms} / ${e.p95_run_ms}</td>
                    <td class="num">${e.cost_per_task.toFixed(4)}</td>
                  </tr>`)}
          </tbody>
        </table>
      </div>`}};customElements.define(`hive-metrics`,Dt);var Ot=[`task.completed`,`task.failed`,`task.dead_lettered`],kt=1e3,J=``;function At(e,t=3){return e==null||!Number.isFinite(e)?`—`:e.toFixed(t)}function Y(e,t=3){if(!Number.isFinite(e))return e>0?`+∞`:e<0?`−∞`:`—`;let n=Math.abs(e).toFixed(t);return Number(n)===0?n:`${e<0?`−`:`+`}${n}`}function X(e){return e==null||!Number.isFinite(e)?`—`:`${(e*100).toFixed(1)} %`}function jt(e){return e.lower>0?`above`:e.upper<0?`below`:`includes`}var Mt=128,Nt=18;function Pt(e,t){let n=Mt/2,r=e=>Number.isFinite(e)?Math.max(-1,Math.min(1,e/t)):e>0?1:-1,i=e=>n+r(e)*58,a=jt(e),o=`difference ${Y(e.estimate)}, interval ${Y(e.lower)} to ${Y(e.upper)}: ${a===`includes`?`includes 0`:a===`above`?`excludes 0, above it`:`excludes 0, below it`}`,s=Nt/2;return S`<svg class="bar ${a}" data-testid="difference-bar" data-side=${a} viewBox="0 0 ${Mt} ${Nt}" width=${Mt} height=${Nt} role="img" aria-label=${o}>
    ${C`<line class="axis" x1="2" x2=${126} y1=${s} y2=${s}></line>
      <line class="zero" x1=${n} x2=${n} y1="1" y2=${17}></line>
      <line class="ci" x1=${i(e.lower)} x2=${i(e.upper)} y1=${s} y2=${s}></line>
      <line class="ci" x1=${i(e.lower)} x2=${i(e.lower)} y1=${5} y2=${13}></line>
      <line class="ci" x1=${i(e.upper)} x2=${i(e.upper)} y1=${5} y2=${13}></line>
      <circle class="est" cx=${i(e.estimate)} cy=${s} r="3"></circle>`}
  </svg>`}function Ft(e){let t=[];return e.max_cost_increase!=null&&t.push(`cost at most +${X(e.max_cost_increase)}`),e.max_p95_increase!=null&&t.push(`p95 run time at most +${X(e.max_p95_increase)}`),e.max_error_rate_increase!=null&&t.push(`error rate at most +${(e.max_error_rate_increase*100).toFixed(1)} points`),t.length?t.join(`; `):`none`}function It(e){let t=e.allocation,n=Array.isArray(e.weights)&&e.weights.length?` (now ${e.weights.map(e=>At(e,2)).join(` / `)})`:``;return t&&t.kind===`thompson`?`Thompson sampling after ${t.burn_in} observations${n}`:`fixed${n}`}var Lt=class extends k{constructor(...e){super(...e),this.list=null,this.listError=``,this.activeOnly=!1,this.sel=``,this.report=null,this.reportError=``,this.msg=``,this.actionErr=``,this.busy=!1,this.listSeq=0,this.reportSeq=0,this.taskAgain=!1}static{this.styles=[H,o`
      .detail { margin-top: 1rem; }
      .head { display: flex; gap: 0.75rem; align-items: baseline; flex-wrap: wrap; }
      .head h3 { margin: 0; overflow-wrap: anywhere; }
      .actions { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; margin: 0.75rem 0; }
      .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 20rem), 1fr)); gap: 0.75rem; margin-top: 0.75rem; align-items: start; }
      td.version { white-space: nowrap; }
      .grid h4 { margin: 0 0 0.4rem; font-size: 0.95rem; }
      td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
      td.diff { white-space: nowrap; font-variant-numeric: tabular-nums; }
      td.diff svg { display: block; margin-top: 0.15rem; }
      tr[aria-current='true'] td { background: var(--code); }
      a[aria-current='true'] { font-weight: 700; }
      .reason { overflow-wrap: anywhere; }
      .bar .axis { stroke: var(--border-strong); stroke-width: 1; }
      .bar .zero { stroke: var(--fg); stroke-width: 1.5; }
      .bar .ci { stroke: var(--c-muted); stroke-width: 2.5; }
      .bar .est { fill: var(--c-muted); }
      .bar.above .ci { stroke: var(--c-ok); }
      .bar.above .est { fill: var(--c-ok); }
      .bar.below .ci { stroke: var(--c-bad); }
      .bar.below .est { fill: var(--c-bad); }
      .x-running, .x-active { color: var(--c-running); }
      .x-awaiting_approval { color: var(--c-warn); }
      .x-watching { color: var(--c-waiting); }
      .x-finished, .x-stopped, .x-inconclusive, .x-futility, .x-futile, .x-exhausted { color: var(--c-muted); }
      .x-winner, .x-kept { color: var(--c-ok); }
      .x-guardrail, .x-rolled_back { color: var(--c-bad); }
    `]}set experimentId(e){e!==this.sel&&(this.sel=e,this.report=null,this.reportError=``,this.msg=``,this.actionErr=``,this.loadReport(),this.requestUpdate())}get experimentId(){return this.sel}connectedCallback(){super.connectedCallback(),this.loadList(),this.unsub=R(e=>e.kind.startsWith(`experiment.`)||e.kind===`prompt.label_moved`,150,()=>{this.loadList(),this.loadReport()}),this.unsubTasks=I.onEvent(e=>{if(!Ot.includes(e.kind))return;let t=this.report;t&&t.experiment.status!==`finished`&&this.reportSoon()})}reportSoon(){this.taskTimer===void 0?this.taskTimer=setTimeout(()=>{this.taskTimer=void 0,this.loadReport(),this.taskAgain&&(this.taskAgain=!1,this.reportSoon())},kt):this.taskAgain=!0}disconnectedCallback(){super.disconnectedCallback(),this.unsub?.(),this.unsubTasks?.(),clearTimeout(this.taskTimer),this.taskTimer=void 0,this.taskAgain=!1}async loadList(){let e=++this.listSeq;try{let t=await j(`GET`,`/experiments${N({active:this.activeOnly?`true`:void 0,limit:200})}`);if(e!==this.listSeq)return;this.list=t,this.listError=``}catch(t){if(e!==this.listSeq)return;this.listError=M(t)}this.requestUpdate()}async loadReport(){let e=this.sel,t=++this.reportSeq;if(e){try{let n=await j(`GET`,`/experiments/${encodeURIComponent(e)}`);if(t!==this.reportSeq||e!==this.sel)return;this.report=n,this.reportError=``}catch(n){if(t!==this.reportSeq||e!==this.sel)return;this.reportError=M(n)}this.requestUpdate()}}setActiveOnly(e){this.activeOnly=e,this.loadList()}async stop(e){let t=await G(e.status===`watching`?`Stop watching ${e.agent}'s promoted ${e.label} prompt? The watch ends with no verdict; the label stays where it is.`:`Stop the experiment on ${e.agent}'s ${e.label} prompt? It ends now with the decision “stopped”; no label moves.`,[{key:`by`,label:`Your name`,required:!0,value:J},{key:`reason`,label:`Reason`}],`Stop it`);t&&(J=t.by,await this.act(`/experiments/${encodeURIComponent(e.id)}/stop`,t.reason?{by:t.by,reason:t.reason}:{by:t.by},`Stopped.`))}async approve(e){let t=e.decision?.arm??`the winner`,n=await G(`Approve moving ${e.agent}'s ${e.label} label to ${t}? The label moves and the watch begins. The approver must not be ${e.started_by}, who started it.`,[{key:`by`,label:`Your name`,required:!0,value:J===e.started_by?``:J}],`Approve`);n&&(J=n.by,await this.act(`/experiments/${encodeURIComponent(e.id)}/approve`,{by:n.by},`Approved: the label moved.`))}async act(e,t,n){this.busy=!0,this.msg=``,this.actionErr=``,this.requestUpdate();try{await j(`POST`,e,t),this.msg=n}catch(e){this.actionErr=M(e)}this.busy=!1,await Promise.all([this.loadReport(),this.loadList()])}renderList(){let e=this.list;return e===null?this.listError?T:S`<p class="muted">Loading…</p>`:e.length===0?S`<p data-testid="experiments-empty">
        No ${this.activeOnly?`active `:``}experiment. One starts with <span class="mono">hive experiments start</span> or
        <span class="mono">POST /experiments</span>.
      </p>`:S`<div class="table-wrap" tabindex="0" role="region" aria-label="Experiments">
      <table data-testid="experiments-list">
        <thead>
          <tr><th scope="col">Agent</th><th scope="col">Label</th><th scope="col">Status</th><th scope="col">Decision</th><th scope="col">Arms</th><th scope="col">Started</th></tr>
        </thead>
        <tbody>
          ${e.map(e=>{let t=e.id===this.sel;return S`<tr data-testid="experiment-row" data-experiment-id=${e.id} data-status=${e.status} aria-current=${t?`true`:`false`}>
              <td>
                <a href="#/experiments/${e.id}" data-testid="experiment-link" aria-current=${t?`true`:`false`}>${e.agent}</a>
                <span class="mono muted">${B(e.id)}</span>
              </td>
              <td>${e.label}</td>
              <td><span class="badge x-${e.status}">${e.status.replace(`_`,` `)}</span></td>
              <td>${e.decision?S`<span class="badge x-${e.decision.kind}">${e.decision.kind}</span>`:`—`}</td>
              <td class="num">${e.arms.length}</td>
              <td>${z(e.created_at)}</td>
            </tr>`})}
        </tbody>
      </table>
    </div>`}armRow(e,t,n=!1){let r=e.difference??null;return S`<tr data-testid=${n?`experiment-watch-row`:`arm-row`} data-arm=${e.name} data-state=${e.state}>
      <th scope="row">${n?`watch: ${e.name}`:e.name}</th>
      <td class="mono version" title=${e.version}>${B(e.version)}</td>
      <td>
        <span class="badge x-${e.state}">${e.state}</span>
        ${e.reason?S`<div class="reason muted">${e.reason}</div>`:T}
      </td>
      <td class="num" data-testid="arm-n">${e.samples}</td>
      <td class="num" data-testid="arm-mean">${At(e.mean)}</td>
      <td class="diff" data-testid="arm-difference">
        ${r?S`<span>${Y(r.estimate)} [${Y(r.lower)}, ${Y(r.upper)}]</span>${Pt(r,t)}`:e.name===`control`&&!n?S`<span class="muted">the baseline</span>`:S`<span class="muted">not yet</span>`}
      </td>
      <td class="num">${X(e.success_rate)}</td>
      <td class="num">${X(e.error_rate)}</td>
      <td class="num">${At(e.tokens_per_task,1)}</td>
      <td class="num">${At(e.cost_per_task,4)}</td>
      <td class="num">${e.p95_run_ms??`—`}</td>
    </tr>`}renderArms(e){let t=e.watch?[...e.arms,e.watch]:e.arms,n=0;for(let e of t){let t=e.difference;if(t)for(let e of[t.lower,t.upper,t.estimate])Number.isFinite(e)&&(n=Math.max(n,Math.abs(e)))}return n=n>0?n*1.05:1,S`<div class="table-wrap" tabindex="0" role="region" aria-label="Arms">
      <table data-testid="experiment-arms">
        <caption class="sr-only">Each arm's figures on the latest look; the difference is the arm's mean minus the control's, with its confidence interval, drawn on a scale centred on 0.</caption>
        <thead>
          <tr>
            <th scope="col">Arm</th><th scope="col">Version</th><th scope="col">State</th><th scope="col" class="num">Observations</th>
            <th scope="col" class="num">Mean (${e.experiment.metric})</th><th scope="col">Difference [interval]</th>
            <th scope="col" class="num">Success</th><th scope="col" class="num">Errors</th><th scope="col" class="num">Tokens / task</th>
            <th scope="col" class="num">USD / task</th><th scope="col" class="num">p95 run ms</th>
          </tr>
        </thead>
        <tbody>
          ${e.arms.map(e=>this.armRow(e,n))}
          ${e.watch?this.armRow(e.watch,n,!0):T}
        </tbody>
      </table>
    </div>`}renderDetail(){if(!this.sel)return S`<p class="muted detail">Select an experiment to see its arms.</p>`;let e=this.report;if(!e)return S`<section class="detail panel" data-testid="experiment-detail" aria-label="Experiment">
        ${this.reportError?S`<p class="error" role="alert">${this.reportError}</p>`:S`<p class="muted">Loading…</p>`}
      </section>`;let t=e.experiment,n=t.status===`finished`,r=t.decision??null,i=t.watch??null;return S`<section class="detail panel" data-testid="experiment-detail" data-experiment-id=${t.id} aria-labelledby="exp-title">
      <div class="head">
        <h3 id="exp-title">${t.agent} · ${t.label}</h3>
        <span class="badge x-${t.status}" data-testid="experiment-status" data-status=${t.status}>${t.status.replace(`_`,` `)}</span>
        <span class="mono muted">${t.id}</span>
      </div>
      ${this.reportError?S`<p class="error" role="alert">${this.reportError}</p>`:T}
      <div class="actions">
        <button class="danger" data-testid="experiment-stop" ?disabled=${this.busy||n} @click=${()=>void this.stop(t)}>Stop…</button>
        ${t.status===`awaiting_approval`?S`<button class="primary" data-testid="experiment-approve" ?disabled=${this.busy} @click=${()=>void this.approve(t)}>Approve promotion…</button>`:T}
        ${this.msg?S`<span role="status">${this.msg}</span>`:T}
        ${this.actionErr?S`<span class="error" role="alert" data-testid="experiment-action-error">${this.actionErr}</span>`:T}
      </div>
      <p data-testid="experiment-counts">
        <strong data-testid="experiment-assigned">${e.assigned}</strong> tasks assigned,
        <strong data-testid="experiment-observations">${e.observations}</strong> finished (the observations).
      </p>
      ${this.renderArms(e)}
      <div class="grid">
        <div class="panel" data-testid="experiment-decision" data-kind=${r?r.kind:``}>
          <h4>Decision</h4>
          ${r?S`<p><span class="badge x-${r.kind}" data-testid="experiment-decision-kind">${r.kind}</span>${r.arm?S` · arm <strong>${r.arm}</strong>`:T}</p>
                <p class="reason" data-testid="experiment-decision-reason">${r.reason}</p>
                <p class="muted">${r.observations} observations · ${z(r.at)}</p>`:S`<p class="muted">None yet: the test has not decided.</p>`}
        </div>
        <div class="panel" data-testid="experiment-watch" data-verdict=${i?.verdict??``}>
          <h4>Watch after promotion</h4>
          ${i?S`<p>
                  ${i.verdict?S`<span class="badge x-${i.verdict}" data-testid="experiment-watch-verdict">${i.verdict.replace(`_`,` `)}</span>`:t.status===`watching`?S`<span class="badge x-watching">watching</span>`:S`<span class="badge x-stopped">ended with no verdict</span>`}
                </p>
                ${i.reason?S`<p class="reason" data-testid="experiment-watch-reason">${i.reason}</p>`:T}
                <dl>
                  <dt>Promoted</dt><dd class="mono" title=${i.promoted}>${B(i.promoted)}</dd>
                  <dt>Replaced</dt><dd class="mono" title=${i.replaced}>${B(i.replaced)}</dd>
                  <dt>Baseline arm</dt><dd>${i.baseline_arm}</dd>
                  <dt>Since</dt><dd>${z(i.since)}</dd>
                  ${i.at?S`<dt>Verdict at</dt><dd>${z(i.at)}</dd>`:T}
                </dl>`:S`<p class="muted">None: nothing was promoted.</p>`}
        </div>
        <div class="panel">
          <h4>Settings</h4>
          <dl>
            <dt>Metric</dt><dd>${t.metric}</dd>
            <dt>α</dt><dd>${t.alpha}</dd>
            <dt>Per arm</dt><dd>${t.min_samples} observations before deciding, ${t.max_samples} at most</dd>
            <dt>Split</dt><dd>${It(t)}</dd>
            <dt>Guardrails</dt><dd>${Ft(t.guardrails??{})}</dd>
            <dt>Watch</dt><dd>${t.watch_samples} observations, ${X(t.watch_holdback)} held back</dd>
            <dt>Seed</dt><dd>${Number.isSafeInteger(t.seed)?t.seed:`above 2⁵³, not exact in a browser (hive experiments status shows it)`}</dd>
            <dt>Started by</dt><dd>${t.started_by}${t.approved_by?` (approved by ${t.approved_by})`:``}</dd>
            <dt>Started</dt><dd>${z(t.created_at)}</dd>
            <dt>Updated</dt><dd>${z(t.updated_at)} (revision ${t.revision})</dd>
          </dl>
        </div>
      </div>
    </section>`}render(){return S`<section data-testid="experiments">
      <h2>Experiments</h2>
      <p class="muted">
        Prompt experiments, newest first, from <span class="mono">GET /experiments</span>; the selected one's figures from
        <span class="mono">GET /experiments/{id}</span>. Both are re-read on experiment events, the figures also as its tasks end.
      </p>
      <div class="row">
        <label><input type="checkbox" data-testid="experiments-active" .checked=${this.activeOnly} @change=${e=>this.setActiveOnly(e.target.checked)} /> Active only</label>
      </div>
      ${this.listError?S`<p class="error" role="alert">${this.listError}</p>`:T}
      ${this.renderList()}
      ${this.renderDetail()}
    </section>`}};customElements.define(`hive-experiments`,Lt);var Z=``;function Rt(e){return e==null||!Number.isFinite(e)?`—`:`${(e*100).toFixed(1)} %`}function zt(e,t=3){return e==null||!Number.isFinite(e)?`—`:e.toFixed(t)}var Bt={prompt:`prompt`,config:`configuration`,code:`code`};function Vt(e){let t=e.decided_by?S` by <strong data-testid="proposal-decided-by">${e.decided_by}</strong>`:T,n=e.decision_reason?S`<span class="reason" data-testid="proposal-decision-reason">${e.decision_reason}</span>`:T;switch(e.status){case`proposed`:return S`Waiting for a person to approve or reject it.${e.decision_reason?S` ${n}`:T}`;case`experimenting`:return S`Being tried in an experiment${e.decided_by?S`, approved${t}`:T}.${e.decision_reason?S` ${n}`:T}`;case`approved`:return S`Approved${t}.${e.decision_reason?S` ${n}`:T}`;case`rejected`:return S`Rejected${t}${e.decision_reason?S`: ${n}`:S`, with no reason given.`}`;case`refused`:return S`Refused${t} (the meta-agent's own checks)${e.decision_reason?S`: ${n}`:T}`;default:return S`${e.status}${t}${e.decision_reason?S`: ${n}`:T}`}}var Ht=class extends k{constructor(...e){super(...e),this.list=null,this.listError=``,this.status=``,this.sel=``,this.proposal=null,this.detailError=``,this.diff=null,this.diffKey=``,this.diffError=``,this.msg=``,this.actionErr=``,this.busy=!1,this.runAgent=``,this.runBusy=!1,this.runReport=null,this.runError=``,this.listSeq=0,this.detailSeq=0}static{this.styles=[H,o`
      .detail { margin-top: 1rem; }
      .head { display: flex; gap: 0.5rem 0.75rem; align-items: baseline; flex-wrap: wrap; }
      .head h3 { margin: 0; overflow-wrap: anywhere; }
      .actions { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; margin: 0.75rem 0; }
      .filters { margin-bottom: 0.75rem; }
      .run { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; margin-bottom: 0.75rem; }
      .run label { font-weight: 600; }
      .run input { width: 14rem; }
      .run-result { flex-basis: 100%; margin: 0; overflow-wrap: anywhere; }
      .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); gap: 0.75rem; margin-top: 0.75rem; align-items: start; }
      .grid h4 { margin: 0 0 0.4rem; font-size: 0.95rem; }
      .wide { grid-column: 1 / -1; }
      .grid h4.next { margin-top: 0.75rem; }
      td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
      td.summary { overflow-wrap: anywhere; min-width: 10rem; }
      tr[aria-current='true'] td { background: var(--code); }
      a[aria-current='true'] { font-weight: 700; }
      .reason, .text { overflow-wrap: anywhere; white-space: pre-wrap; }
      ul.tasks { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; }
      ul.tasks a { overflow-wrap: anywhere; }
      .diff { background: var(--code); border-radius: 6px; padding: 0.4rem 0; max-height: 24rem; overflow: auto; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; }
      .dl { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0 0.5rem; }
      .dl .op { display: inline-block; width: 1.25em; user-select: none; }
      .dl.added { background: color-mix(in srgb, var(--c-ok) 16%, var(--code)); }
      .dl.removed { background: color-mix(in srgb, var(--c-bad) 16%, var(--code)); text-decoration: line-through; text-decoration-color: var(--c-bad); }
      .k-prompt { color: var(--c-running); }
      .k-config { color: var(--c-pending); }
      .k-code { color: var(--c-waiting); }
      .p-proposed { color: var(--c-warn); }
      .p-experimenting { color: var(--c-running); }
      .p-approved { color: var(--c-ok); }
      .p-rejected { color: var(--c-muted); }
      .p-refused { color: var(--c-bad); }
      .r-low { color: var(--c-ok); }
      .r-medium { color: var(--c-warn); }
      .r-high { color: var(--c-bad); }
    `]}set proposalId(e){e!==this.sel&&(this.sel=e,this.proposal=null,this.detailError=``,this.diff=null,this.diffKey=``,this.diffError=``,this.msg=``,this.actionErr=``,this.loadDetail(),this.requestUpdate())}get proposalId(){return this.sel}connectedCallback(){super.connectedCallback(),this.loadList(),this.unsub=R(e=>e.kind.startsWith(`experiment.`),150,()=>void this.reload())}disconnectedCallback(){super.disconnectedCallback(),this.unsub?.()}async reload(){await Promise.all([this.loadList(),this.loadDetail()])}async loadList(){let e=++this.listSeq;try{let t=await j(`GET`,`/proposals${N({status:this.status,limit:200})}`);if(e!==this.listSeq)return;this.list=t,this.listError=``}catch(t){if(e!==this.listSeq)return;this.listError=M(t)}this.requestUpdate()}async loadDetail(){let e=this.sel,t=++this.detailSeq;if(e){try{let n=await j(`GET`,`/proposals/${encodeURIComponent(e)}`);if(t!==this.detailSeq||e!==this.sel)return;this.proposal=n,this.detailError=``,this.loadDiff(n)}catch(n){if(t!==this.detailSeq||e!==this.sel)return;this.detailError=M(n)}this.requestUpdate()}}async loadDiff(e){if(e.kind!==`prompt`||!e.parent_version||!e.prompt_version)return;let t=`${e.parent_version}→${e.prompt_version}`;if(!(t===this.diffKey&&this.diff)){this.diffKey=t;try{let n=await j(`GET`,`/prompt-versions/${encodeURIComponent(e.parent_version)}/diff${N({to:e.prompt_version})}`);if(t!==this.diffKey||e.id!==this.sel)return;this.diff=n,this.diffError=``}catch(n){if(t!==this.diffKey||e.id!==this.sel)return;this.diffKey=``,this.diffError=M(n)}this.requestUpdate()}}setStatus(e){this.status=Ge.includes(e)?e:``,this.loadList()}async approve(e){let t=await G(`${e.kind===`prompt`?`Approve the new prompt for ${e.agent}? Its experiment starts now, with you as its approver.`:`Approve the ${Bt[e.kind]??e.kind} change “${e.summary}” for ${e.agent}? It is marked approved: the server records the decision, it does not apply the change itself.`} The approver must not be ${e.author}, who wrote it.`,[{key:`by`,label:`Your name`,required:!0,value:Z===e.author?``:Z}],`Approve`);t&&(Z=t.by,await this.act(e,`approve`,{by:t.by},e.kind===`prompt`?`Approved: its experiment started.`:`Approved.`))}async reject(e){let t=await G(e.status===`experimenting`?`Reject the new prompt for ${e.agent}? Its experiment stops now; no label moves.`:`Reject “${e.summary}” for ${e.agent}?`,[{key:`by`,label:`Your name`,required:!0,value:Z},{key:`reason`,label:`Reason`}],`Reject`);t&&(Z=t.by,await this.act(e,`reject`,t.reason?{by:t.by,reason:t.reason}:{by:t.by},`Rejected.`))}async act(e,t,n,r){this.busy=!0,this.msg=``,this.actionErr=``,this.requestUpdate();try{let i=await j(`POST`,`/proposals/${encodeURIComponent(e.id)}/${t}`,n);i&&i.id===this.sel&&(this.proposal=i),this.msg=r}catch(e){this.actionErr=M(e)}this.busy=!1,await this.reload()}async runMeta(e){e.preventDefault();let t=this.runAgent.trim();if(!t)this.runError=`Enter the name of the agent to look at.`,this.runReport=null,this.requestUpdate();else{this.runBusy=!0,this.runError=``,this.runReport=null,this.requestUpdate();try{this.runReport=await j(`POST`,`/meta/runs`,{agent:t})}catch(e){this.runError=M(e)}this.runBusy=!1,await this.reload()}}renderRun(){let e=this.runAgent.trim(),t=[...new Set([...I.agents.map(e=>e.name),...(this.list??[]).map(e=>e.agent)])].sort(),n=this.runReport;return S`<form class="run panel" data-testid="meta-run" aria-label="Run the meta-agent" novalidate @submit=${e=>void this.runMeta(e)}>
      <label for="meta-run-agent">Agent</label>
      <input
        id="meta-run-agent"
        data-testid="meta-run-agent"
        list="meta-run-agents"
        autocomplete="off"
        .value=${this.runAgent}
        @input=${e=>{this.runAgent=e.target.value,this.requestUpdate()}}
      />
      <datalist id="meta-run-agents">${t.map(e=>S`<option value=${e}></option>`)}</datalist>
      <button type="submit" class="primary" data-testid="meta-run-submit" ?disabled=${this.runBusy}>
        ${e?`Run meta-agent on ${e}`:`Run meta-agent`}
      </button>
      ${this.runBusy?S`<span role="status">Running…</span>`:T}
      ${this.runError?S`<p class="run-result error" role="alert" data-testid="meta-run-error">${this.runError}</p>`:T}
      ${n?S`<p class="run-result" role="status" data-testid="meta-run-result" data-proposals=${n.proposals.length}>
            Run <span class="mono" title=${n.run}>${B(n.run)}</span> on ${n.agent}: ${n.calls} model
            call${n.calls===1?``:`s`}, ${n.tokens} tokens${n.cost_usd>0?`, $${n.cost_usd.toFixed(4)}`:``};
            ${n.proposals.length?S`wrote ${n.proposals.length} proposal${n.proposals.length===1?``:`s`}:
                  ${n.proposals.map((e,t)=>S`${t?`, `:``}<a href="#/proposals/${e.id}">${e.summary||e.kind}</a> (${e.status})`)}.`:S`wrote nothing${n.note?S`: ${n.note}`:T}.`}
          </p>`:T}
    </form>`}renderList(){let e=this.list;return e===null?this.listError?T:S`<p class="muted">Loading…</p>`:e.length===0?S`<p data-testid="proposals-empty">
        No ${this.status?`${this.status} `:``}proposal. The meta-agent writes them when it runs (above,
        <span class="mono">hive meta run</span> or <span class="mono">POST /meta/runs</span>).
      </p>`:S`<div class="table-wrap" tabindex="0" role="region" aria-label="Proposals">
      <table data-testid="proposals-list">
        <thead>
          <tr><th scope="col">Agent</th><th scope="col">Kind</th><th scope="col">Risk</th><th scope="col">Status</th><th scope="col">Summary</th><th scope="col">Created</th></tr>
        </thead>
        <tbody>
          ${e.map(e=>{let t=e.id===this.sel;return S`<tr data-testid="proposal-row" data-proposal-id=${e.id} data-kind=${e.kind} data-status=${e.status} aria-current=${t?`true`:`false`}>
              <td>${e.agent}</td>
              <td><span class="badge k-${e.kind}">${e.kind}</span></td>
              <td><span class="badge r-${e.risk}">${e.risk}</span></td>
              <td><span class="badge p-${e.status}">${e.status}</span></td>
              <td class="summary">
                <a href="#/proposals/${e.id}" data-testid="proposal-link" aria-current=${t?`true`:`false`}>${e.summary||`a ${Bt[e.kind]??e.kind} change`}</a>
              </td>
              <td>${z(e.created_at)}</td>
            </tr>`})}
        </tbody>
      </table>
    </div>`}renderDiff(e){if(!e.prompt_version)return S`<p class="muted" data-testid="proposal-no-version">No prompt version was written${e.status===`refused`?`: the proposal was refused (its text is in the change below)`:``}.</p>`;if(!e.parent_version)return S`<p class="muted">Version <span class="mono" title=${e.prompt_version}>${B(e.prompt_version)}</span> has no parent to compare with.</p>`;if(this.diffError)return S`<p class="error" role="alert">${this.diffError}</p>`;let t=this.diff;if(!t)return S`<p class="muted">Loading the diff…</p>`;let n=t.lines.filter(e=>e.op===`added`).length,r=t.lines.filter(e=>e.op===`removed`).length;return S`<p class="muted">
        From <span class="mono" title=${t.from}>${B(t.from)}</span> (its parent) to
        <span class="mono" title=${t.to}>${B(t.to)}</span>: ${r} line${r===1?``:`s`} removed, ${n} added.
      </p>
      <div class="diff" data-testid="proposal-diff" tabindex="0" role="region" aria-label="Prompt diff">
        ${t.lines.map(e=>S`<div class="dl ${e.op}" data-testid="diff-line" data-op=${e.op}><span class="op" aria-hidden="true">${e.op===`added`?`+`:e.op===`removed`?`−`:` `}</span>${e.op===`same`?T:S`<span class="sr-only">${e.op}: </span>`}<span class="line">${e.line}</span></div>`)}
      </div>`}renderMetrics(e){let t=e.evidence?.metrics??[];return t.length===0?S`<p class="muted">No metrics were recorded with it.</p>`:S`<div class="table-wrap" tabindex="0" role="region" aria-label="Metrics when it was written">
      <table data-testid="proposal-metrics">
        <caption class="sr-only">The agent's outcomes per prompt version when the proposal was written.</caption>
        <thead>
          <tr>
            <th scope="col">Prompt version</th><th scope="col" class="num">Tasks</th><th scope="col" class="num">Succeeded</th>
            <th scope="col" class="num">Dead-lettered</th><th scope="col" class="num">Success</th><th scope="col" class="num">Retries</th>
            <th scope="col" class="num">p95 run ms</th><th scope="col" class="num">Tokens</th><th scope="col" class="num">USD / task</th>
            <th scope="col" class="num">Mean score</th>
          </tr>
        </thead>
        <tbody>
          ${t.map(t=>S`<tr data-testid="proposal-metrics-row" data-key=${t.key??``}>
              <th scope="row" class="mono" title=${t.key??``}>
                ${t.key?B(t.key):`none recorded`}${t.key&&t.key===e.parent_version?S` <span class="muted">(parent)</span>`:T}
              </th>
              <td class="num" data-testid="metrics-tasks">${t.tasks}</td>
              <td class="num" data-testid="metrics-succeeded">${t.succeeded}</td>
              <td class="num" data-testid="metrics-dead-lettered">${t.dead_lettered}</td>
              <td class="num">${Rt(t.success_rate)}</td>
              <td class="num">${t.retries}</td>
              <td class="num">${t.p95_run_ms}</td>
              <td class="num">${t.input_tokens+t.output_tokens}</td>
              <td class="num">${zt(t.cost_per_task,4)}</td>
              <td class="num">${t.mean_score===null||t.mean_score===void 0?`—`:`${zt(t.mean_score)} (${t.scored})`}</td>
            </tr>`)}
        </tbody>
      </table>
    </div>
    ${t.some(e=>!e.key)?S`<p class="muted" data-testid="proposal-metrics-unversioned">
          “None recorded”: tasks whose outcome names no prompt version — a dead-lettered task has no result to name it.
        </p>`:T}`}renderDetail(){if(!this.sel)return S`<p class="muted detail">Select a proposal to see its reasons, its change and its evidence.</p>`;let e=this.proposal;if(!e)return S`<section class="detail panel" data-testid="proposal-detail" aria-label="Proposal">
        ${this.detailError?S`<p class="error" role="alert">${this.detailError}</p>`:S`<p class="muted">Loading…</p>`}
      </section>`;let t=e.status===`proposed`,n=e.status===`proposed`||e.status===`experimenting`,r=e.evidence?.tasks??[];return S`<section class="detail panel" data-testid="proposal-detail" data-proposal-id=${e.id} data-kind=${e.kind} data-status=${e.status} aria-labelledby="proposal-title">
      <div class="head">
        <h3 id="proposal-title" data-testid="proposal-summary">${e.summary||`a ${Bt[e.kind]??e.kind} change`}</h3>
        <span class="badge k-${e.kind}">${e.kind}</span>
        <span class="badge p-${e.status}" data-testid="proposal-status" data-status=${e.status}>${e.status}</span>
        <span class="badge r-${e.risk}" data-testid="proposal-risk">${e.risk} risk</span>
      </div>
      <p class="mono muted">${e.id}</p>
      ${this.detailError?S`<p class="error" role="alert">${this.detailError}</p>`:T}
      <p data-testid="proposal-decision">${Vt(e)}</p>
      ${t||n||this.msg||this.actionErr?S`<div class="actions">
            ${t?S`<button class="primary" data-testid="proposal-approve" ?disabled=${this.busy} @click=${()=>void this.approve(e)}>Approve…</button>`:T}
            ${n?S`<button class="danger" data-testid="proposal-reject" ?disabled=${this.busy} @click=${()=>void this.reject(e)}>Reject…</button>`:T}
            ${this.msg?S`<span role="status" data-testid="proposal-action-done">${this.msg}</span>`:T}
            ${this.actionErr?S`<span class="error" role="alert" data-testid="proposal-action-error">${this.actionErr}</span>`:T}
          </div>`:T}
      <dl>
        <dt>Agent</dt><dd>${e.agent}</dd>
        <dt>Rationale</dt><dd class="text" data-testid="proposal-rationale">${e.rationale||`—`}</dd>
        <dt>Expected effect</dt><dd class="text" data-testid="proposal-expected-effect">${e.expected_effect||`—`}</dd>
        <dt>Risk</dt><dd>${e.risk}</dd>
        <dt>Written by</dt><dd>${e.author}, run <span class="mono" title=${e.run}>${B(e.run)}</span>, ${z(e.created_at)}</dd>
        <dt>Updated</dt><dd>${z(e.updated_at)} (revision ${e.revision})</dd>
      </dl>
      <div class="grid">
        ${e.kind===`prompt`?S`<div class="panel wide" data-testid="proposal-prompt">
              <h4>The new prompt</h4>
              <p>
                Experiment:
                ${e.experiment?S`<a href="#/experiments/${e.experiment}" data-testid="proposal-experiment" data-experiment-id=${e.experiment}>${B(e.experiment)} in Experiments</a>`:S`<span class="muted">none${e.status===`proposed`?` yet: approving it starts one`:``}</span>`}
              </p>
              ${this.renderDiff(e)}
            </div>`:T}
        ${e.change!==void 0&&e.change!==null?S`<div class="panel wide">
              <h4>The change</h4>
              <pre data-testid="proposal-change">${V(e.change)}</pre>
            </div>`:T}
        <div class="panel wide" data-testid="proposal-evidence">
          <h4>Evidence: the failed tasks it read (${r.length})</h4>
          ${r.length?S`<ul class="tasks" data-testid="proposal-evidence-tasks">
                ${r.map(e=>S`<li><a class="mono" href="#/task/${e}" data-testid="proposal-evidence-task" data-task-id=${e}>${e}</a></li>`)}
              </ul>`:S`<p class="muted">None.</p>`}
          <h4 class="next">Evidence: the metrics when it was written</h4>
          ${this.renderMetrics(e)}
        </div>
      </div>
    </section>`}render(){return S`<section data-testid="proposals">
      <h2>Proposals</h2>
      <p class="muted">
        The meta-agent's proposals, newest first, from <span class="mono">GET /proposals</span>; the selected one from
        <span class="mono">GET /proposals/{id}</span>. Both are re-read on experiment events and after every action here.
      </p>
      ${this.renderRun()}
      <div class="row filters">
        <label for="proposals-status">Status</label>
        <select id="proposals-status" data-testid="proposals-status" @change=${e=>this.setStatus(e.target.value)}>
          <option value="" ?selected=${this.status===``}>all</option>
          ${Ge.map(e=>S`<option value=${e} ?selected=${this.status===e}>${e}</option>`)}
        </select>
        <button data-testid="proposals-refresh" @click=${()=>void this.reload()}>Re-read</button>
      </div>
      ${this.listError?S`<p class="error" role="alert">${this.listError}</p>`:T}
      ${this.renderList()}
      ${this.renderDetail()}
    </section>`}};customElements.define(`hive-proposals`,Ht);var Ut=150,Wt=``,Gt={prepare:`Prepare: a worktree from the target’s head`,generate:`Generate: the change, committed`,static_gate:`Static gate: paths, size, risk`,tests:`Tests: restored from the base, sandboxed`,bench:`Benchmark: base and candidate, interleaved`,review:`Review: an approval when critical`,merge:`Merge: fast-forward with a rollback tag`,watch:`Watch: the health command after the merge`},Kt={running:`running`,awaiting_approval:`awaiting approval`,watching:`watching`,done:`done`,rejected:`rejected`,reverted:`reverted`,failed:`failed`};function qt(e){return Kt[e]??e}function Jt(e){return e.replace(`_`,` `)}function Q(e){return e?S`<span class="mono" title=${e}>${e.slice(0,10)}</span>`:S`<span class="muted">—</span>`}function $(e,t=3){return Number.isFinite(e)?e.toFixed(t):`—`}function Yt(e){if(e.length===0)return NaN;let t=[...e].sort((e,t)=>e-t),n=t.length>>1;return t.length%2?t[n]:(t[n-1]+t[n])/2}function Xt(e,t){let n=Date.parse(t)-Date.parse(e);return!Number.isFinite(n)||n<0?``:n<1e3?`${n} ms`:n<12e4?`${(n/1e3).toFixed(1)} s`:`${Math.round(n/6e4)} min`}function Zt(e,t,n){let r=qe.indexOf(e.step),i=qe.indexOf(t);return t===e.step&&e.status===`running`?{state:`running`,text:`running now`}:t===`bench`&&n&&!n.policy.bench?{state:`skipped`,text:`no benchmark in the policy`}:t===`watch`&&n&&!n.policy.watch?{state:`skipped`,text:`no watch in the policy`}:i<r?{state:`skipped`,text:`passed over`}:e.status===`running`||e.status===`awaiting_approval`?{state:`pending`,text:`to come`}:{state:`pending`,text:`not reached`}}var Qt=280,$t=34;function en(e){let t=1+e.max_slowdown,n=0;for(let r of[e.low,e.high,e.ratio,t])Number.isFinite(r)&&(n=Math.max(n,Math.abs(r-1)));n=n>0?n*1.15:.2;let r=Qt/2,i=e=>Number.isFinite(e)?r+Math.max(-1,Math.min(1,(e-1)/n))*132:e>0?272:8,a=`ratio ${$(e.ratio)}, ${Math.round(e.confidence*100)} % interval ${$(e.low)} to ${$(e.high)}; allowed up to ${$(t)}; ${e.passed?`passed`:`refused: the whole interval is above the allowed slowdown`}`;return S`<svg class="bench-bar ${e.passed?`ok`:`bad`}" data-testid="change-bench-bar" data-passed=${String(e.passed)} viewBox="0 0 ${Qt} ${$t}" width=${Qt} height=${$t} role="img" aria-label=${a}>
    ${C`<line class="axis" x1="4" x2=${276} y1=${14} y2=${14}></line>
      <line class="one" x1=${r} x2=${r} y1="3" y2=${22}></line>
      <line class="limit" x1=${i(t)} x2=${i(t)} y1="1" y2=${24}></line>
      <line class="ci" x1=${i(e.low)} x2=${i(e.high)} y1=${14} y2=${14}></line>
      <line class="ci" x1=${i(e.low)} x2=${i(e.low)} y1=${9} y2=${19}></line>
      <line class="ci" x1=${i(e.high)} x2=${i(e.high)} y1=${9} y2=${19}></line>
      <circle class="est" cx=${i(e.ratio)} cy=${14} r="3.5"></circle>
      <text x=${r} y=${33} text-anchor="middle">1.0</text>
      <text x=${i(t)} y=${33} text-anchor=${i(t)>250?`end`:`start`} dx="2">${$(t,2)} allowed</text>`}
  </svg>`}var tn=class extends k{constructor(...e){super(...e),this.list=null,this.listError=``,this.repos=[],this.repository=``,this.status=``,this.sel=``,this.change=null,this.detailError=``,this.msg=``,this.actionErr=``,this.busy=!1,this.listSeq=0,this.detailSeq=0,this.detailDue=!1,this.resyncs=0}static{this.styles=[H,o`
      .detail { margin-top: 1rem; }
      .head { display: flex; gap: 0.5rem 0.75rem; align-items: baseline; flex-wrap: wrap; }
      .head h3 { margin: 0; overflow-wrap: anywhere; }
      .actions { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; margin: 0.75rem 0; }
      .filters { margin-bottom: 0.75rem; }
      .grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 0.75rem; margin-top: 0.75rem; align-items: start; }
      @media (max-width: 800px) {
        .grid { grid-template-columns: minmax(0, 1fr); }
      }
      .grid h4 { margin: 0 0 0.4rem; font-size: 0.95rem; }
      .wide { grid-column: 1 / -1; }
      td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
      td.title { overflow-wrap: anywhere; min-width: 10rem; }
      td.path { overflow-wrap: anywhere; }
      tr[aria-current='true'] td { background: var(--code); }
      a[aria-current='true'] { font-weight: 700; }
      .reason, .text { overflow-wrap: anywhere; white-space: pre-wrap; }
      .ins { color: var(--c-ok); }
      .del { color: var(--c-bad); }
      ol.steps { list-style: none; margin: 0; padding: 0; }
      ol.steps > li { position: relative; padding: 0 0 0.75rem 1.9rem; }
      ol.steps > li::before { content: ''; position: absolute; left: 0.6rem; top: 1.3rem; bottom: 0; border-left: 2px solid var(--border); }
      ol.steps > li:last-child::before { display: none; }
      .mark { position: absolute; left: 0; top: 0.05rem; width: 1.3rem; height: 1.3rem; border-radius: 50%; display: inline-flex; align-items: center; justify-content: center; font-size: 0.8rem; font-weight: 700; border: 2px solid currentColor; background: var(--panel); }
      .step-head { display: flex; gap: 0.25rem 0.6rem; flex-wrap: wrap; align-items: baseline; }
      .step-head strong { font-weight: 600; }
      .run { margin-top: 0.2rem; }
      .run + .run { margin-top: 0.4rem; }
      .run .summary { overflow-wrap: anywhere; }
      details summary { cursor: pointer; color: var(--link); margin: 0.2rem 0; }
      .st-passed { color: var(--c-ok); }
      .st-failed { color: var(--c-bad); }
      .st-running { color: var(--c-running); }
      .st-waiting { color: var(--c-warn); }
      .st-skipped, .st-pending { color: var(--c-muted); }
      .c-running { color: var(--c-running); }
      .c-awaiting_approval { color: var(--c-warn); }
      .c-watching { color: var(--c-waiting); }
      .c-done { color: var(--c-ok); }
      .c-rejected, .c-reverted { color: var(--c-muted); }
      .c-failed { color: var(--c-bad); }
      .r-normal { color: var(--c-muted); }
      .r-critical { color: var(--c-bad); }
      .f-added { color: var(--c-ok); }
      .f-deleted { color: var(--c-bad); }
      .f-modified, .f-renamed, .f-type_changed { color: var(--c-running); }
      ul.plain { margin: 0.2rem 0 0.4rem; padding-left: 1.2rem; }
      ul.plain li { overflow-wrap: anywhere; }
      .bench-bar { display: block; margin: 0.4rem 0; max-width: 100%; }
      .bench-bar .axis { stroke: var(--border-strong); stroke-width: 1; }
      .bench-bar .one { stroke: var(--fg); stroke-width: 1.5; }
      .bench-bar .limit { stroke: var(--c-warn); stroke-width: 1.5; stroke-dasharray: 3 2; }
      .bench-bar .ci { stroke: var(--c-ok); stroke-width: 3; }
      .bench-bar .est { fill: var(--c-ok); }
      .bench-bar.bad .ci { stroke: var(--c-bad); }
      .bench-bar.bad .est { fill: var(--c-bad); }
      .bench-bar text { font-size: 9px; fill: var(--fg); }
    `]}set changeId(e){e!==this.sel&&(this.sel=e,this.change=null,this.detailError=``,this.msg=``,this.actionErr=``,this.loadDetail(),this.requestUpdate())}get changeId(){return this.sel}connectedCallback(){super.connectedCallback(),this.loadRepositories(),this.loadList(),this.unsubEvents=I.onEvent(e=>{e.kind.startsWith(`change.`)&&(e.subject===this.sel&&(this.detailDue=!0),clearTimeout(this.timer),this.timer=setTimeout(()=>{let e=this.detailDue;this.detailDue=!1,this.loadList(),e&&this.loadDetail()},Ut))}),this.resyncs=I.resyncs,this.unsubStore=I.subscribe(()=>{I.resyncs!==this.resyncs&&(this.resyncs=I.resyncs,this.reload())})}disconnectedCallback(){super.disconnectedCallback(),this.unsubEvents?.(),this.unsubStore?.(),clearTimeout(this.timer),this.timer=void 0,this.detailDue=!1}async reload(){await Promise.all([this.loadList(),this.loadDetail()])}async loadRepositories(){try{this.repos=await j(`GET`,`/repositories`)}catch(e){this.listError=`repositories: ${M(e)}`}this.requestUpdate()}async loadList(){let e=++this.listSeq;try{let t=await j(`GET`,`/changes${N({repository:this.repository,status:this.status,limit:200})}`);if(e!==this.listSeq)return;this.list=t,this.listError=``}catch(t){if(e!==this.listSeq)return;this.listError=M(t)}this.requestUpdate()}async loadDetail(){let e=this.sel,t=++this.detailSeq;if(e){try{let n=await j(`GET`,`/changes/${encodeURIComponent(e)}`);if(t!==this.detailSeq||e!==this.sel)return;this.change=n,this.detailError=``}catch(n){if(t!==this.detailSeq||e!==this.sel)return;this.detailError=M(n)}this.requestUpdate()}}setRepository(e){this.repository=this.repos.some(t=>t.name===e)?e:``,this.loadList()}setStatus(e){this.status=Ke.includes(e)?e:``,this.loadList()}async approve(e){let t=await G(`Approve “${e.title}” for ${e.repository}? It then merges into ${e.target}. Approving needs an approver's token (an [[approvers]] entry of hive.toml): it is sent with this one request and not kept.`,[{key:`token`,label:`Approver token`,required:!0,type:`password`},{key:`reason`,label:`Reason`}],`Approve`);t&&await this.act(e,`approve`,{reason:t.reason},`Approved: on to its merge.`,t.token)}async reject(e){let t=await G(e.status===`running`?`Reject “${e.title}” while its gates run? It stops; ${e.target} never moves.`:`Reject “${e.title}”? It will not merge; ${e.target} never moves.`,[{key:`by`,label:`Your name`,required:!0,value:Wt},{key:`reason`,label:`Reason`,required:!0}],`Reject`);t&&(Wt=t.by,await this.act(e,`reject`,{by:t.by,reason:t.reason},`Rejected.`))}async revert(e){let t=await G(`Revert “${e.title}”? A new commit on ${e.target} undoes it (history is not rewritten).`,[{key:`by`,label:`Your name`,required:!0,value:Wt},{key:`reason`,label:`Reason`,required:!0}],`Revert`);t&&(Wt=t.by,await this.act(e,`revert`,{by:t.by,reason:t.reason},`Reverted.`))}async act(e,t,n,r,i){this.busy=!0,this.msg=``,this.actionErr=``,this.requestUpdate();try{let a=`/changes/${encodeURIComponent(e.id)}/${t}`,o=i===void 0?await j(`POST`,a,n):await j(`POST`,a,n,i,{keepSession:!0});o&&o.id===this.sel&&(this.change=o),this.msg=r}catch(e){this.actionErr=M(e)}this.busy=!1,await this.reload()}renderList(){let e=this.list;return e===null?this.listError?T:S`<p class="muted">Loading…</p>`:e.length===0?S`<p data-testid="changes-empty">
        No ${this.status||this.repository?`such `:``}change set${this.repos.length===0?S`, and no repository the self-modifier may change: they are declared as <span class="mono">[[repositories]]</span> in hive.toml`:S`. One starts with <span class="mono">hive changes propose</span> or <span class="mono">POST /changes</span>`}.
      </p>`:S`<div class="table-wrap" tabindex="0" role="region" aria-label="Change sets">
      <table data-testid="changes-list">
        <thead>
          <tr>
            <th scope="col">Title</th><th scope="col">Repository</th><th scope="col">Status</th><th scope="col">Step</th>
            <th scope="col">Risk</th><th scope="col" class="num">Lines</th><th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          ${e.map(e=>{let t=e.id===this.sel;return S`<tr data-testid="change-row" data-change-id=${e.id} data-status=${e.status} data-step=${e.step} data-risk=${e.risk??``} aria-current=${t?`true`:`false`}>
              <td class="title">
                <a href="#/changes/${e.id}" data-testid="change-link" aria-current=${t?`true`:`false`}>${e.title}</a>
                <span class="mono muted">${B(e.id)}</span>
              </td>
              <td>${e.repository} <span class="muted">→ ${e.target}</span></td>
              <td><span class="badge c-${e.status}" data-testid="change-row-status">${qt(e.status)}</span></td>
              <td data-testid="change-row-step">${Jt(e.step)}</td>
              <td>${e.risk?S`<span class="badge r-${e.risk}">${e.risk}</span>`:S`<span class="muted">—</span>`}</td>
              <td class="num" data-testid="change-row-lines">
                ${e.diff?S`<span class="ins">+${e.diff.insertions}</span> <span class="del">−${e.diff.deletions}</span>`:S`<span class="muted">—</span>`}
              </td>
              <td>${z(e.updated_at)}</td>
            </tr>`})}
        </tbody>
      </table>
    </div>`}renderRun(e,t){let n=Xt(e.started_at,e.finished_at);return S`<div class="run" data-testid="change-step-run" data-attempt=${e.attempt} data-passed=${String(e.passed)}>
      <span class="summary" data-testid="change-step-summary">${e.summary}</span>
      <span class="muted">${t?`· attempt ${e.attempt} `:``}· ${z(e.finished_at)}${n?` · ${n}`:``}</span>
      ${e.output?S`<details data-testid="change-step-output-toggle">
            <summary>Output</summary>
            <pre data-testid="change-step-output">${e.output}</pre>
          </details>`:T}
    </div>`}renderSteps(e){let t=this.repos.find(t=>t.name===e.repository);return S`<ol class="steps" data-testid="change-steps" aria-label="Gates">
      ${qe.map(n=>{let r=e.logs.filter(e=>e.step===n),i=r[r.length-1],a,o=``;if(i)a=i.passed?`passed`:`failed`,n===e.step&&e.status===`awaiting_approval`?(a=`waiting`,o=`waiting for an approver`):n===e.step&&e.status===`running`&&i.passed?(a=`running`,o=`running again`):n===e.step&&e.status===`watching`?(a=`running`,o=`watching`):n===`review`&&e.decision&&e.status!==`rejected`&&(o=`approved by ${e.decision.by}`);else{let r=Zt(e,n,t);a=r.state,o=r.text}let s={passed:`✓`,failed:`✗`,running:`…`,waiting:`!`,skipped:`–`,pending:``}[a]??``,c={passed:`passed`,failed:`failed`,running:`running`,waiting:`waiting`,skipped:`skipped`,pending:`not run`}[a]??a;return S`<li data-testid="change-step" data-step=${n} data-state=${a} aria-current=${n===e.step?`step`:`false`}>
          <span class="mark st-${a}" aria-hidden="true">${s}</span>
          <div class="step-head">
            <strong>${Gt[n]}</strong>
            <span class="badge st-${a}" data-testid="change-step-state">${c}</span>
            ${o?S`<span class="muted">${o}</span>`:T}
          </div>
          ${r.map(e=>this.renderRun(e,r.length>1))}
        </li>`})}
    </ol>`}renderDiff(e){return e?S`<p data-testid="change-diff-total">
        ${e.files} file${e.files===1?``:`s`}, <span class="ins">+${e.insertions}</span> <span class="del">−${e.deletions}</span>
      </p>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Files changed">
        <table data-testid="change-files">
          <thead>
            <tr><th scope="col">Path</th><th scope="col">How</th><th scope="col" class="num">Added</th><th scope="col" class="num">Removed</th></tr>
          </thead>
          <tbody>
            ${e.changes.map(e=>S`<tr data-testid="change-file" data-path=${e.path} data-kind=${e.kind}>
                <td class="path mono">${e.old_path&&e.old_path!==e.path?S`${e.old_path} → `:T}${e.path}</td>
                <td>
                  <span class="badge f-${e.kind}">${e.kind.replace(`_`,` `)}</span>
                  ${e.symlink?S` <span class="badge r-critical">symlink</span>`:T}
                  ${e.executable?S` <span class="badge">executable</span>`:T}
                  ${e.binary?S` <span class="badge">binary</span>`:T}
                </td>
                <td class="num ins" data-testid="change-file-insertions">+${e.insertions}</td>
                <td class="num del" data-testid="change-file-deletions">−${e.deletions}</td>
              </tr>`)}
          </tbody>
        </table>
      </div>`:S`<p class="muted">Not yet: the change is not committed.</p>`}renderVerdict(e){if(!e)return S`<p class="muted">Not yet.</p>`;let t=(e,t,n)=>t.length?S`<div data-testid=${n}>${e}:<ul class="plain">${t.map(e=>S`<li class="mono">${e}</li>`)}</ul></div>`:T;return S`<p>
        ${e.refused.length?S`<span class="badge c-failed">refused</span>`:S`<span class="badge c-done">passed</span>`}
        ${e.lines} line${e.lines===1?``:`s`} changed
      </p>
      ${t(`Refused because`,e.refused,`change-verdict-refused`)} ${t(`Critical because`,e.critical,`change-verdict-critical`)}
      ${t(`Tests added (must fail on the base)`,e.added_tests,`change-verdict-added-tests`)}
      ${t(`Tests changed (restored from the base before running)`,e.changed_tests,`change-verdict-changed-tests`)}`}renderBench(e,t){let n=e.bench;if(!n)return S`<p class="muted" data-testid="change-bench-none">${t&&!t.policy.bench?`No benchmark: the repository’s policy has none.`:`Not yet measured.`}</p>`;let r=1+n.max_slowdown;return S`<div data-testid="change-bench" data-passed=${String(n.passed)}>
      <p>
        <span class="badge ${n.passed?`c-done`:`c-failed`}">${n.passed?`passed`:`refused`}</span>
        Ratio of medians (candidate / base) <strong data-testid="change-bench-ratio">${$(n.ratio)}</strong>,
        ${Math.round(n.confidence*100)} % interval [<span data-testid="change-bench-low">${$(n.low)}</span>,
        <span data-testid="change-bench-high">${$(n.high)}</span>]; allowed up to ${$(r)}
        (+${(n.max_slowdown*100).toFixed(0)} %).
      </p>
      ${en(n)}
      <p class="muted">
        ${n.base_ms.length} base and ${n.candidate_ms.length} candidate runs, interleaved; medians ${$(Yt(n.base_ms),1)} ms
        and ${$(Yt(n.candidate_ms),1)} ms. Refused only when the whole interval lies above the allowed line.
      </p>
    </div>`}renderDecision(e){let t=e.decision,n=!!t&&e.status===`rejected`&&(e.reason??``).startsWith(`rejected by ${t.by}`);return S`<div data-testid="change-decision" data-kind=${t?n?`rejected`:`approved`:``}>
      ${t?S`<p>
              ${n?`Rejected`:`Approved`} by
              <strong data-testid="change-decision-by">${t.by}</strong>, ${z(t.at)}${t.reason?`:`:` (no reason given).`}
            </p>
            ${t.reason?S`<p class="reason" data-testid="change-decision-reason">${t.reason}</p>`:T}`:e.status===`awaiting_approval`?S`<p>Waiting for an approver${e.approval_deadline?S` until <strong>${z(e.approval_deadline)}</strong>; then it is rejected`:T}.</p>`:S`<p class="muted">No decision by a person${e.risk===`normal`?`: normal risk needs none`:``}.</p>`}
      ${e.reason?S`<p>Why it ${e.status===`reverted`?`was reverted`:e.status===`failed`?`failed`:`stopped`}:
            <span class="reason" data-testid="change-reason">${e.reason}</span></p>`:T}
    </div>`}renderDetail(){if(!this.sel)return S`<p class="muted detail">Select a change set to see its gates, its diff and its decision.</p>`;let e=this.change;if(!e)return S`<section class="detail panel" data-testid="change-detail" aria-label="Change set">
        ${this.detailError?S`<p class="error" role="alert">${this.detailError}</p>`:S`<p class="muted">Loading…</p>`}
      </section>`;let t=this.repos.find(t=>t.name===e.repository),n=e.status===`awaiting_approval`,r=e.status===`awaiting_approval`||e.status===`running`,i=e.status===`done`||e.status===`watching`;return S`<section class="detail panel" data-testid="change-detail" data-change-id=${e.id} data-status=${e.status} aria-labelledby="change-title">
      <div class="head">
        <h3 id="change-title" data-testid="change-title">${e.title}</h3>
        <span class="badge c-${e.status}" data-testid="change-status" data-status=${e.status}>${qt(e.status)}</span>
        ${e.risk?S`<span class="badge r-${e.risk}" data-testid="change-risk" data-risk=${e.risk}>${e.risk} risk</span>`:T}
      </div>
      <p class="mono muted">${e.id}</p>
      ${this.detailError?S`<p class="error" role="alert">${this.detailError}</p>`:T}
      ${n||r||i||this.msg||this.actionErr?S`<div class="actions">
            ${n?S`<button class="primary" data-testid="change-approve" ?disabled=${this.busy} @click=${()=>void this.approve(e)}>Approve…</button>`:T}
            ${r?S`<button class="danger" data-testid="change-reject" ?disabled=${this.busy} @click=${()=>void this.reject(e)}>Reject…</button>`:T}
            ${i?S`<button class="danger" data-testid="change-revert" ?disabled=${this.busy} @click=${()=>void this.revert(e)}>Revert…</button>`:T}
            ${this.msg?S`<span role="status" data-testid="change-action-done">${this.msg}</span>`:T}
            ${this.actionErr?S`<span class="error" role="alert" data-testid="change-action-error">${this.actionErr}</span>`:T}
          </div>`:T}
      <dl>
        <dt>Repository</dt><dd>${e.repository}, into <span class="mono">${e.target}</span> from <span class="mono">${e.branch}</span></dd>
        ${e.description?S`<dt>Description</dt><dd class="text">${e.description}</dd>`:T}
        <dt>Step</dt><dd data-testid="change-step-now">${Jt(e.step)}</dd>
        <dt>Base</dt><dd>${Q(e.base_commit)}</dd>
        <dt>Change</dt><dd>${Q(e.head_commit)}</dd>
        ${e.merged_commit?S`<dt>Merged</dt><dd>${Q(e.merged_commit)}</dd>`:T}
        ${e.rollback_tag?S`<dt>Rollback tag</dt><dd class="mono" data-testid="change-rollback-tag">${e.rollback_tag}</dd>`:T}
        ${e.revert_commit?S`<dt>Revert commit</dt><dd>${Q(e.revert_commit)}</dd>`:T}
        ${e.proposal?S`<dt>Proposal</dt><dd><a href="#/proposals/${e.proposal}">${B(e.proposal)} in Proposals</a></dd>`:T}
        <dt>Asked by</dt><dd>${e.requested_by??S`<span class="muted">not named</span>`}, ${z(e.created_at)}</dd>
        <dt>Updated</dt><dd>${z(e.updated_at)} (revision ${e.revision})</dd>
      </dl>
      <div class="grid">
        <div class="panel">
          <h4>Gates</h4>
          ${this.renderSteps(e)}
        </div>
        <div class="panel">
          <h4>Decision</h4>
          ${this.renderDecision(e)}
          <h4>Benchmark</h4>
          ${this.renderBench(e,t)}
          <h4>Static gate</h4>
          ${this.renderVerdict(e.static_verdict)}
        </div>
        <div class="panel wide" data-testid="change-diff">
          <h4>Files changed</h4>
          ${this.renderDiff(e.diff)}
          <details>
            <summary>${e.source.kind===`patch`?`The patch as proposed`:`The prompt the coding command was given`}</summary>
            <pre data-testid="change-source">${e.source.kind===`patch`?e.source.patch:e.source.prompt}</pre>
          </details>
        </div>
      </div>
    </section>`}render(){return S`<section data-testid="changes">
      <h2>Changes</h2>
      <p class="muted">
        The self-modifier's change sets, newest first, from <span class="mono">GET /changes</span>; the selected one with its
        gates' logs from <span class="mono">GET /changes/{id}</span>. Both are re-read on <span class="mono">change.*</span> events
        and after every action here.
      </p>
      <div class="row filters">
        <label for="changes-repository">Repository</label>
        <select id="changes-repository" data-testid="changes-repository" @change=${e=>this.setRepository(e.target.value)}>
          <option value="" ?selected=${this.repository===``}>all</option>
          ${this.repos.map(e=>S`<option value=${e.name} ?selected=${this.repository===e.name}>${e.name}</option>`)}
        </select>
        <label for="changes-status">Status</label>
        <select id="changes-status" data-testid="changes-status" @change=${e=>this.setStatus(e.target.value)}>
          <option value="" ?selected=${this.status===``}>all</option>
          ${Ke.map(e=>S`<option value=${e} ?selected=${this.status===e}>${qt(e)}</option>`)}
        </select>
        <button data-testid="changes-refresh" @click=${()=>void this.reload()}>Re-read</button>
      </div>
      ${this.listError?S`<p class="error" role="alert">${this.listError}</p>`:T}
      ${this.renderList()}
      ${this.renderDetail()}
    </section>`}};customElements.define(`hive-changes`,tn);var nn={sleep:[`Sleep cycles`,`Sleep cycles will appear here: the periods in which agents consolidate their memory, when each ran and what it kept or dropped.`]},rn=class extends k{constructor(...e){super(...e),this.which=`sleep`}static{this.styles=[H]}set panel(e){this.which=e,this.requestUpdate()}get panel(){return this.which}render(){let[e,t]=nn[this.which]??[`Coming`,`This panel comes with a later release.`];return S`<h2>${e}</h2>
      <p>${t}</p>
      <p class="muted">Nothing is shown yet: the server does not provide this data today.</p>`}};customElements.define(`hive-coming`,rn);function an(){let[e,...t]=location.hash.replace(/^#\/?/,``).split(`/`);return{view:e||`board`,id:decodeURIComponent(t.join(`/`))}}var on=[[`board`,`Board`,`nav-board`],[`agents`,`Agents`,`nav-agents`],[`sessions`,`Sessions`,`nav-sessions`],[`dead-letters`,`Dead letters`,`nav-dead-letters`],[`events`,`Events`,`nav-events`],[`submit`,`Submit`,`nav-submit`],[`metrics`,`Metrics`,`nav-metrics`],[`experiments`,`Experiments`,`nav-experiments`],[`proposals`,`Proposals`,`nav-proposals`],[`changes`,`Changes`,`nav-changes`]],sn=[[`sleep`,`Sleep cycles`,`nav-sleep`]],cn=class extends L{constructor(...e){super(...e),this.route=an(),this.updateWorker=null,this.reloadRequested=!1,this.onHash=()=>{this.route=an(),this.requestUpdate()}}static{this.styles=[H,o`
      :host { min-height: 100vh; display: flex; flex-direction: column; }
      header { background: var(--header); color: #fff; padding: 0.5rem 1rem; display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; align-items: center; }
      header h1 { font-size: 1.15rem; margin: 0; white-space: nowrap; }
      nav { display: flex; flex-wrap: wrap; gap: 0.25rem 0.25rem; align-items: center; flex: 1 1 auto; min-width: 0; }
      nav a { color: #fff; text-decoration: none; padding: 0.2rem 0.5rem; border-radius: 4px; white-space: nowrap; }
      nav a:hover { background: rgba(255, 255, 255, 0.15); }
      nav a[aria-current='page'] { background: #fff; color: var(--header); font-weight: 600; }
      nav .group { display: inline-flex; flex-wrap: wrap; gap: 0.25rem; align-items: center; border-left: 1px solid rgba(255,255,255,0.5); padding-left: 0.5rem; }
      nav .group-label { font-size: 0.8rem; color: #e3ebf5; }
      header :focus-visible { outline-color: #f5b72a; }
      .conn { display: inline-flex; align-items: center; gap: 0.35rem; white-space: nowrap; }
      .dot { width: 0.7rem; height: 0.7rem; border-radius: 50%; display: inline-block; border: 1px solid #fff; }
      .conn[data-state='live'] .dot { background: #3ccf6e; }
      .conn[data-state='reconnecting'] .dot { background: #f5b72a; }
      .conn[data-state='unreachable'] .dot { background: #ff5a4f; }
      header button { background: transparent; color: #fff; border-color: #fff; }
      .banner { padding: 0.5rem 1rem; display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; }
      .banner.bad { background: #fde8e7; color: #7a1711; border-bottom: 1px solid #e0a5a0; }
      .banner.info { background: #e7f0fb; color: #163a66; border-bottom: 1px solid #9fbde3; }
      .banner button { background: #fff; color: #163a66; }
      main { flex: 1 1 auto; padding: 1rem; min-width: 0; }
      footer { border-top: 1px solid var(--border); padding: 0.35rem 1rem; color: var(--muted); font-size: 0.85rem; display: flex; gap: 1rem; flex-wrap: wrap; }
      form.signin { max-width: 24rem; margin: 2rem auto; }
      form.signin label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
      form.signin input { width: 100%; margin-bottom: 0.75rem; }
      @media (max-width: 700px) {
        header { padding: 0.5rem; }
        main { padding: 0.5rem; }
      }
    `]}connectedCallback(){super.connectedCallback(),window.addEventListener(`hashchange`,this.onHash),I.start();let e=!1,t=()=>{e||(e=!0,n(),clearTimeout(r),this.registerServiceWorker())},n=I.subscribe(()=>{(I.snapshotLoaded||I.auth===`signin`||I.connection===`unreachable`)&&setTimeout(t,0)}),r=setTimeout(t,2e3)}disconnectedCallback(){super.disconnectedCallback(),window.removeEventListener(`hashchange`,this.onHash)}registerServiceWorker(){`serviceWorker`in navigator&&(navigator.serviceWorker.addEventListener(`controllerchange`,()=>{this.reloadRequested&&location.reload()}),navigator.serviceWorker.register(`/ui/sw.js`,{scope:`/ui/`}).then(e=>{let t=e=>{e&&navigator.serviceWorker.controller&&(this.updateWorker=e,this.requestUpdate())};t(e.waiting),e.onupdatefound=()=>{let n=e.installing;n&&n.addEventListener(`statechange`,()=>{n.state===`installed`&&t(n)})}}).catch(()=>{}))}reloadForUpdate(){this.reloadRequested=!0;let e=this.updateWorker;e&&e.state!==`redundant`?e.postMessage({type:`skipWaiting`}):location.reload(),setTimeout(()=>location.reload(),3e3)}signin(e){e.preventDefault();let t=this.renderRoot.querySelector(`[data-testid=signin-token]`).value.trim();t?I.signIn(t):(I.signinError=`enter a token`,this.requestUpdate())}renderSignin(){return S`<form class="signin panel" data-testid="signin" @submit=${this.signin}>
      <h2>Sign in</h2>
      <p>This server requires a token. It is kept for this tab only.</p>
      <label for="token">Token</label>
      <input id="token" data-testid="signin-token" type="password" autocomplete="current-password" required />
      ${I.signinError?S`<p class="error" role="alert" data-testid="signin-error">${I.signinError}</p>`:T}
      <button class="primary" type="submit" data-testid="signin-submit" ?disabled=${I.signinBusy}>Sign in</button>
    </form>`}renderView(){let{view:e,id:t}=this.route;switch(e){case`board`:return S`<hive-board></hive-board>`;case`task`:return S`<hive-task .taskId=${t}></hive-task>`;case`agents`:return S`<hive-agents></hive-agents>`;case`sessions`:return S`<hive-sessions></hive-sessions>`;case`session`:return S`<hive-session .sessionId=${t}></hive-session>`;case`dead-letters`:return S`<hive-dead-letters></hive-dead-letters>`;case`events`:return S`<hive-events></hive-events>`;case`submit`:return S`<hive-submit></hive-submit>`;case`metrics`:return S`<hive-metrics></hive-metrics>`;case`experiments`:return S`<hive-experiments .experimentId=${t}></hive-experiments>`;case`proposals`:return S`<hive-proposals .proposalId=${t}></hive-proposals>`;case`changes`:return S`<hive-changes .changeId=${t}></hive-changes>`;case`sleep`:return S`<hive-coming .panel=${e}></hive-coming>`;default:return S`<h2>Not found</h2><p>There is no view “${e}”. <a href="#/board">Back to the board</a>.</p>`}}render(){let e=this.route.view===`task`?`board`:this.route.view===`session`?`sessions`:this.route.view,t=([t,n,r])=>S`<a href="#/${t}" data-testid=${r} aria-current=${e===t?`page`:`false`}>${n}</a>`,n=I.connection,r=n,i=I.latencyP95();return S`
      <header>
        <h1>Agent Hive</h1>
        <nav aria-label="Main">
          ${on.map(t)}
          <span class="group" role="group" aria-label="Coming">
            <span class="group-label">Coming:</span>
            ${sn.map(t)}
          </span>
        </nav>
        <span class="conn" data-testid="connection" data-state=${n} role="status" aria-live="polite">
          <span class="dot" aria-hidden="true"></span>${r}
        </span>
        ${I.auth===`ok`&&I.tokenRequired?S`<button data-testid="signout" @click=${()=>I.signOut()}>Sign out</button>`:T}
      </header>
      ${n===`unreachable`?S`<div class="banner bad" data-testid="banner-unreachable" role="alert">
            The server cannot be reached; retrying. Nothing below is newer than the last answer.
            ${I.lastError?S`<span class="mono">${I.lastError}</span>`:T}
          </div>`:T}
      ${this.updateWorker?S`<div class="banner info" data-testid="banner-update" role="status">
            A new version is available — reload
            <button data-testid="update-reload" @click=${()=>this.reloadForUpdate()}>Reload</button>
          </div>`:T}
      <main id="main">${I.auth===`signin`?this.renderSignin():this.renderView()}</main>
      <footer>
        <span>event → screen p95: ${i===null?`no events yet`:`${Math.round(i)} ms`}</span>
        <span>events applied: ${I.applied}</span>
        <span>resyncs: ${I.resyncs}</span>
        ${I.lastSeq?S`<span>last event #${I.lastSeq}</span>`:T}
      </footer>
    `}};customElements.define(`hive-app`,cn);
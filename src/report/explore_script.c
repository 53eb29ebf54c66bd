// explore_script.c — the report's one script (see explore.h). It reads the JSON blobs, shows
// the hover boxes and draws the patch map; it changes no figure, so the page without script is
// the same figures and text. Test mode (#kevo-test-hover=ROW,COL;...): after load, a mousemove
// is dispatched at each cell's centre in screen coordinates at the element found there, through
// the same handler as a real mouse, and each hover box is copied into #kevo-test-results for a
// headless browser's --dump-dom (tests/test_report_browser.c).
#include "report/explore.h"

static const char script[] =
"(function(){'use strict';\n"
"function data(id){var e=document.getElementById(id);return e?JSON.parse(e.textContent):null;}\n"
"function fmt(v){return v===null?'\\u2013':(v!==0&&Math.abs(v)<1e-3?v.toExponential(2):"
"v.toPrecision(4));}\n"
"function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;"
"if(text!==undefined)e.textContent=text;return e;}\n"
// a number shown rounded, its exact value (the CSVs' double) in data-v and the tooltip
"function num(tag,v){var e=el(tag,'num',fmt(v));var s=v===null?'null':String(v);"
"e.setAttribute('data-v',s);e.title=s;return e;}\n"
"function place(box,ev){box.hidden=false;box.style.left=(ev.pageX+14)+'px';"
"box.style.top=(ev.pageY+14)+'px';}\n"
"var H=data('kevo-heat-data'),frame=document.querySelector('[data-kevo-heatmap]'),"
"hh=document.getElementById('kevo-heat-hover');\n"
"function figOf(f){return f.querySelector('img,svg');}\n"
// the cell under the mouse: its position scaled from displayed to figure points, then the
// cells' box divided into rows x cols
"function heatCell(ev){var b=figOf(frame).getBoundingClientRect(),d=frame.dataset;"
"var x=(ev.clientX-b.left)*d.figW/b.width,y=(ev.clientY-b.top)*d.figH/b.height;"
"var c=Math.floor((x-d.x0)/(d.x1-d.x0)*H.cols),r=Math.floor((y-d.y0)/(d.y1-d.y0)*H.rows);"
"return r>=0&&r<H.rows&&c>=0&&c<H.cols?{row:r,col:c}:null;}\n"
"function showHeat(ev){var cell=heatCell(ev);if(!cell){hh.hidden=true;return;}"
"var s=H.steps[cell.row],l=cell.col;hh.textContent='';"
"hh.setAttribute('data-step',s.step);hh.setAttribute('data-transition',l);"
"hh.appendChild(el('div','head','step '+s.step+' \\u201c'+s.piece+'\\u201d, transition '+l+"
"' (hidden state '+l+' \\u2192 '+(l+1)+')'));"
"var dv=el('div','div');dv.appendChild(document.createTextNode(H.divergence+' divergence '));"
"var a=num('span',s.div[l]);a.id='kevo-hover-div';dv.appendChild(a);"
"dv.appendChild(document.createTextNode(', drawn '));var b=num('span',s.heat[l]);"
"b.id='kevo-hover-heat';dv.appendChild(b);"
"dv.appendChild(document.createTextNode(' (scale: '+H.scale+')'));hh.appendChild(dv);"
"var t=el('table'),hr=el('tr');hr.appendChild(el('th','','#'));"
"[l,l+1].forEach(function(q){var th=el('th','','state '+q);th.colSpan=2;hr.appendChild(th);});"
"t.appendChild(hr);for(var i=0;i<5;i++){var tr=el('tr');tr.appendChild(el('td','',String(i+1)));"
"[l,l+1].forEach(function(q){var e=s.top[q][i],pc=el('td','piece',e?e[0]:'');"
"var pv=num('td',e?e[1]:null);[pc,pv].forEach(function(c){c.setAttribute('data-state',q);"
"c.setAttribute('data-rank',i);});if(e)pc.setAttribute('data-piece',e[0]);"
"tr.appendChild(pc);tr.appendChild(pv);});t.appendChild(tr);}hh.appendChild(t);place(hh,ev);}\n"
"if(H&&frame&&hh){frame.addEventListener('mousemove',showHeat);"
"frame.addEventListener('mouseleave',function(){hh.hidden=true;});}\n"
// the patch map: one rectangle per patch over the image, its alpha the tracked word's
// probability over the largest at that index (or the top token's probability without words)
"var P=data('kevo-patch-data'),cv=document.getElementById('kevo-patch-canvas');\n"
"if(P&&cv){var ctl=document.querySelector('.patch-controls'),sl=document.getElementById("
"'kevo-patch-layer'),out=document.getElementById('kevo-patch-layer-value'),ws=document."
"getElementById('kevo-patch-word'),ph=document.getElementById('kevo-patch-hover'),"
"im=document.querySelector('.patch-image');ctl.hidden=false;"
// the canvas at >= 640 px across, whatever the image's size, so patch edges stay sharp
"var sc=Math.max(1,Math.ceil(640/P.width));cv.width=P.width*sc;cv.height=P.height*sc;"
"if(!im){cv.style.position='static';cv.style.background='#eee';}"
"sl.max=P.indices.length-1;sl.value=Math.max(0,P.figure_index);"
"P.words.forEach(function(w,i){var o=el('option','',w);o.value=i;ws.appendChild(o);});"
"if(!P.words.length){var o=el('option','','top token p');o.value=-1;ws.appendChild(o);}\n"
"function val(p,k,w){return w<0?p.top[k][1]:p.word_p[k][w];}\n"
"function draw(){var k=+sl.value,w=+ws.value,g=cv.getContext('2d'),m=0;"
"g.setTransform(sc,0,0,sc,0,0);g.lineWidth=1/sc;"
"P.patches.forEach(function(p){var v=val(p,k,w);if(v>m)m=v;});"
"g.clearRect(0,0,P.width,P.height);P.patches.forEach(function(p){var r=p.rect,v=val(p,k,w);"
"if(r[2]<=r[0]||r[3]<=r[1])return;g.fillStyle='rgba(84,39,143,'+(m>0&&v?0.8*v/m:0)+')';"
"g.fillRect(r[0],r[1],r[2]-r[0],r[3]-r[1]);g.strokeStyle='rgba(255,255,255,.5)';"
"g.strokeRect(r[0],r[1],r[2]-r[0],r[3]-r[1]);});"
"out.textContent=P.indices[k]+' (largest p '+fmt(m)+')';}\n"
"function patchAt(ev){var b=cv.getBoundingClientRect(),x=(ev.clientX-b.left)*P.width/b.width,"
"y=(ev.clientY-b.top)*P.height/b.height;for(var i=0;i<P.patches.length;i++){"
"var r=P.patches[i].rect;if(x>=r[0]&&x<r[2]&&y>=r[1]&&y<r[3])return i;}return -1;}\n"
"function showPatch(ev){var i=patchAt(ev);if(i<0){ph.hidden=true;return;}var p=P.patches[i];"
"ph.textContent='';ph.setAttribute('data-patch',i);ph.appendChild(el('div','head','patch '+i+"
"' (row '+Math.floor(i/P.cols)+', column '+(i%P.cols)+')'));var t=el('table'),hr=el('tr');"
"['index','top token','p','entropy'].concat(P.words.map(function(w){return 'p('+w+')';}))."
"forEach(function(h){hr.appendChild(el('th','',h));});t.appendChild(hr);"
"P.indices.forEach(function(ix,k){var tr=el('tr',k===+sl.value?'now':'');"
"tr.setAttribute('data-k',k);"
"tr.appendChild(el('td','',String(ix)));var pc=el('td','piece',p.top[k][0]);"
"pc.setAttribute('data-piece',p.top[k][0]);tr.appendChild(pc);tr.appendChild(num('td',"
"p.top[k][1]));tr.appendChild(num('td',p.top[k][2]));p.word_p[k].forEach(function(v){"
"tr.appendChild(num('td',v));});t.appendChild(tr);});ph.appendChild(t);place(ph,ev);}\n"
"sl.addEventListener('input',draw);ws.addEventListener('change',draw);"
"cv.addEventListener('mousemove',showPatch);cv.addEventListener('mouseleave',function(){"
"ph.hidden=true;});if(im&&!im.complete)im.addEventListener('load',draw);draw();}\n"
// test mode: real mousemove events at cell centres, through the handler above
"function test(){var m=/#kevo-test-hover=([0-9,;]+)/.exec(location.hash);if(!m||!frame)return;"
"var res=el('div');res.id='kevo-test-results';document.body.appendChild(res);"
"m[1].split(';').forEach(function(rc){var q=rc.split(','),r=+q[0],c=+q[1],f=figOf(frame);"
"f.scrollIntoView({block:'center',inline:'center'});var b=f.getBoundingClientRect(),"
"d=frame.dataset,x=b.left+(+d.x0+(c+0.5)*(d.x1-d.x0)/H.cols)*b.width/d.figW,"
"y=b.top+(+d.y0+(r+0.5)*(d.y1-d.y0)/H.rows)*b.height/d.figH,"
"tg=document.elementFromPoint(x,y);hh.hidden=true;if(tg)tg.dispatchEvent(new MouseEvent("
"'mousemove',{bubbles:true,clientX:x,clientY:y,view:window}));var cp=hh.cloneNode(true);"
"cp.removeAttribute('id');cp.setAttribute('data-asked',r+','+c);"
"cp.setAttribute('data-shown',hh.hidden?'no':'yes');res.appendChild(cp);});"
"res.setAttribute('data-done','1');}\n"
// #kevo-test-patch=K:P;P...: the slider moved to K (an input event), then a mousemove at each
// patch P's centre on the canvas
"function testPatch(){var m=/#kevo-test-patch=([0-9]+):([0-9;]+)/.exec(location.hash);"
"if(!m||!P||!cv)return;var res=el('div');res.id='kevo-test-patch-results';"
"document.body.appendChild(res);sl.value=m[1];sl.dispatchEvent(new Event('input'));"
"res.setAttribute('data-layer',document.getElementById('kevo-patch-layer-value').textContent);"
"m[2].split(';').forEach(function(q){var i=+q,r=P.patches[i].rect;"
"cv.scrollIntoView({block:'center',inline:'center'});var b=cv.getBoundingClientRect(),"
"x=b.left+(r[0]+r[2])/2*b.width/P.width,y=b.top+(r[1]+r[3])/2*b.height/P.height,"
"tg=document.elementFromPoint(x,y);ph.hidden=true;if(tg)tg.dispatchEvent(new MouseEvent("
"'mousemove',{bubbles:true,clientX:x,clientY:y,view:window}));var cp=ph.cloneNode(true);"
"cp.removeAttribute('id');cp.setAttribute('data-asked',i);"
"cp.setAttribute('data-shown',ph.hidden?'no':'yes');res.appendChild(cp);});"
"res.setAttribute('data-done','1');}\n"
"function tests(){test();testPatch();}\n"
"if(document.readyState==='complete')tests();else window.addEventListener('load',tests);\n"
"})();\n";

kevo_status kevo_explore_put_script(FILE *f, const void *unused, kevo_error *err)
{
    fputs("<script>\n", f);
    fputs(script, f);
    fputs("</script>\n", f);
    return KEVO_OK;
}

//go:build js && wasm

package main

import (
	"math"
	"sort"
	"strings"
	"syscall/js"

	"webcnn/site/app/dom"
)

// row appends a term and its description to the summary list.
func (a *app) row(dl dom.Element, term, desc string) {
	dt := a.doc.CreateElement("dt")
	dt.SetTextContent(term)
	dd := a.doc.CreateElement("dd")
	dd.SetTextContent(desc)
	dl.AppendChild(dt)
	dl.AppendChild(dd)
}

// preSummary shows what the manifest says while the weights download.
func (a *app) preSummary(e *entry) {
	dl := a.el("summary")
	dl.SetTextContent("")
	dl.SetAttribute("data-loaded", "false")
	if e.err != "" {
		a.row(dl, "Manifest", e.err)
		return
	}
	a.row(dl, "Input", shapeText(e.input, e.order))
	a.row(dl, "Parameters", countText(e.params))
	a.row(dl, "Download", bytesText(e.download))
	a.el("backend-note").SetTextContent("")
	a.el("mc-note").SetTextContent("")
}

// summary shows model.summary() once the model is loaded.
func (a *app) summary(m js.Value, loadMs float64) {
	s := a.info
	dl := a.el("summary")
	dl.SetTextContent("")
	arch := str(s.Get("arch"))
	if arch == "graph" {
		arch = "imported graph"
	}
	a.row(dl, "Architecture", arch)
	in := s.Get("input")
	a.row(dl, "Input", shapeText(ints(in.Get("shape")), str(in.Get("channelOrder"))))
	if p := s.Get("params"); p.Truthy() {
		a.row(dl, "Parameters", countText(p.Float()))
	}
	if v := s.Get("macs"); v.Truthy() {
		a.row(dl, "Multiply-adds", countText(v.Float()))
	}
	if v := s.Get("layers"); v.Truthy() {
		a.row(dl, "Layers", sprint(v.Int()))
	}
	if v := s.Get("classes"); v.Truthy() {
		a.row(dl, "Classes", sprint(v.Int()))
	}
	if str(s.Get("output")) == "features" {
		a.row(dl, "Output", sprintf("%d features, no classes (a backbone cut before its head): teach it classes below", s.Get("features").Int()))
	}
	a.row(dl, "Download", sprintf("%s in %s", bytesText(num(s.Get("downloadBytes"))), plural(s.Get("chunks").Int(), "chunk")))
	a.row(dl, "Memory", sprintf("%s weights + %s activations", bytesText(num(s.Get("paramBytes"))), bytesText(num(s.Get("activationBytes")))))
	st := m.Get("loadStats")
	from := sprintf("%d of %s from the cache", st.Get("cachedChunks").Int(), plural(st.Get("chunks").Int(), "chunk"))
	a.row(dl, "Loaded", sprintf("in %s, %s", msText(loadMs), from))
	dl.SetAttribute("data-loaded", "true")
	dl.SetAttribute("data-cached-chunks", sprint(st.Get("cachedChunks").Int()))
	dl.SetAttribute("data-requests", sprint(st.Get("requests").Int()))

	got := str(m.Get("backend"))
	note := str(m.Get("backendNote"))
	nb := a.el("backend-note")
	nb.SetAttribute("data-backend", got)
	switch {
	case a.backend == "webgpu" && got != "webgpu":
		nb.SetAttribute("data-fallback", "true")
		nb.SetTextContent("Running on the CPU. " + note + ".")
	case got == "webgpu" && strings.Contains(note, "fallback adapter"):
		nb.SetAttribute("data-fallback", "false")
		nb.SetTextContent("Running on WebGPU with a software adapter (slow: the CPU is faster here): " + strings.TrimSuffix(note, " (fallback adapter)"))
	case got == "webgpu":
		nb.SetAttribute("data-fallback", "false")
		nb.SetTextContent("Running on WebGPU: " + note)
	default:
		nb.SetAttribute("data-fallback", "false")
		nb.SetTextContent("Running on the CPU (Go compiled to WebAssembly).")
	}
	// MC-dropout is offered only where it means something: a model with
	// dropout layers (the taught head has one: its passes are set in the
	// panel).
	mc := a.el("mc").(*dom.HTMLInputElement)
	drop := s.Get("dropoutLayers").Int()
	mc.Underlying().Set("disabled", drop == 0)
	a.el("mc-m").Underlying().Set("disabled", drop == 0)
	switch {
	case drop == 0 && str(s.Get("output")) == "features":
		mc.Underlying().Set("checked", false)
		a.mc = false
		a.el("mc-note").SetTextContent("MC-dropout: off. This backbone has no dropout and no classes; the head taught on it has dropout, and its spread shows in the prediction card.")
	case drop == 0:
		mc.Underlying().Set("checked", false)
		a.mc = false
		a.el("mc-note").SetTextContent("MC-dropout: off. This model has no dropout layer, so every pass would give the same answer (variance 0).")
	default:
		a.el("mc-note").SetTextContent(plural(drop, "dropout layer") + ": each pass draws new masks; batch norm keeps its running statistics.")
	}
	a.el("mc").Underlying().Get("parentElement").Call("setAttribute", "data-disabled", sprint(drop == 0))
	a.ftBlocks()
}

// progress shows the download; total 0 or show false hides the bar.
func (a *app) progress(done, total float64, show bool) {
	p := a.el("progress")
	if !show {
		p.Underlying().Set("hidden", true)
		return
	}
	p.Underlying().Set("hidden", false)
	frac := 0.0
	if total > 0 {
		frac = math.Min(1, done/total)
	}
	a.el("progress-bar").Style().SetProperty("width", sprintf("%.1f%%", 100*frac), "")
	p.SetAttribute("aria-valuenow", sprintf("%.0f", 100*frac))
	a.el("progress-text").SetTextContent(sprintf("%s of %s", bytesText(done), bytesText(total)))
}

func (a *app) clearBars() {
	a.el("top").SetTextContent("")
	a.el("uncertainty").SetTextContent("")
	a.el("timing").SetTextContent("")
}

// bars draws the model's answer in #top: one bar per class, with the
// MC-dropout or ensemble spread when there is one.
func (a *app) bars(r js.Value, backend string, ms float64) {
	stats, top1Std := a.barsInto(a.el("top"), r)
	a.el("timing").SetTextContent(sprintf("%s on %s", msText(ms), backendName(backend)))
	a.el("timing").SetAttribute("data-backend", backend)
	u := a.el("uncertainty")
	if stats {
		u.SetTextContent(sprintf("MC-dropout over %d passes: bars show the mean probability, the whiskers ± one standard deviation (top-1: ± %s).", a.mcM, pctText(top1Std)))
	} else {
		u.SetTextContent("")
	}
}

// barsInto fills ol with one bar per class of the answer r; a class with
// a variance (MC-dropout, ensembles) gets whiskers at the mean ± one
// standard deviation and "± sd" beside its percentage. It returns whether
// there were variances and the top class's deviation.
func (a *app) barsInto(ol dom.Element, r js.Value) (stats bool, top1Std float64) {
	ol.SetTextContent("")
	for i := 0; i < r.Length(); i++ {
		c := r.Index(i)
		p := num(c.Get("prob"))
		li := a.doc.CreateElement("li")
		li.SetAttribute("data-index", sprint(c.Get("index").Int()))
		li.SetAttribute("data-label", str(c.Get("label")))
		li.SetAttribute("data-prob", sprint(p))
		name := a.doc.CreateElement("span")
		name.SetAttribute("class", "name")
		name.SetTextContent(str(c.Get("label")))
		track := a.doc.CreateElement("span")
		track.SetAttribute("class", "track")
		fill := a.doc.CreateElement("span").(dom.HTMLElement)
		fill.SetAttribute("class", "fill")
		fill.Style().SetProperty("width", sprintf("%.2f%%", 100*p), "")
		track.AppendChild(fill)
		pct := a.doc.CreateElement("span")
		pct.SetAttribute("class", "pct")
		pct.SetTextContent(pctText(p))
		if v := c.Get("variance"); v.Type() == js.TypeNumber {
			stats = true
			sd := std(v.Float())
			if i == 0 {
				top1Std = sd
			}
			li.SetAttribute("data-variance", sprint(v.Float()))
			li.SetAttribute("data-std", sprint(sd))
			w := a.doc.CreateElement("span").(dom.HTMLElement)
			w.SetAttribute("class", "spread whisker")
			lo, hi := math.Max(0, p-sd), math.Min(1, p+sd)
			w.SetAttribute("data-lo", sprint(lo))
			w.SetAttribute("data-hi", sprint(hi))
			w.Style().SetProperty("left", sprintf("%.2f%%", 100*lo), "")
			w.Style().SetProperty("width", sprintf("max(%.2f%%, 2px)", 100*(hi-lo)), "")
			track.AppendChild(w)
			pm := a.doc.CreateElement("small")
			pm.SetTextContent("± " + pctText(sd))
			pct.AppendChild(pm)
		}
		li.AppendChild(name)
		li.AppendChild(track)
		li.AppendChild(pct)
		ol.AppendChild(li)
	}
	return stats, top1Std
}

// latencyTable lists the last latency of the current model per backend
// (and per number of MC-dropout passes).
func (a *app) latencyTable() {
	tb := a.el("latency-rows")
	tb.SetTextContent("")
	l := a.latency[a.id]
	var names []string
	for b := range l {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		backend, passes, _ := strings.Cut(b, "/")
		tr := a.doc.CreateElement("tr")
		tr.SetAttribute("data-backend", backend)
		th := a.doc.CreateElement("th")
		name := map[string]string{"cpu": "CPU", "webgpu": "WebGPU"}[backend]
		if passes != "" {
			name += " · MC-dropout ×" + passes
		}
		th.SetTextContent(name)
		td := a.doc.CreateElement("td")
		td.SetTextContent(msText(l[b]))
		tr.AppendChild(th)
		tr.AppendChild(td)
		tb.AppendChild(tr)
	}
	a.el("latency").Underlying().Set("hidden", len(names) == 0)
}

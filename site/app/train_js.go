//go:build js && wasm

package main

import (
	"math"
	"strconv"
	"strings"
	"syscall/js"

	"webcnn/site/app/dom"
)

// The fine-tuning panel (Teachable-Machine style): images taken from the
// stage (whatever is on it: a file, the camera, the pad, a generated digit
// or strip) are added to named classes; Train calls model.finetune of the
// library (a new head on the loaded model's frozen features, in its
// worker) and plots the loss and accuracy of every step from its onStep
// callbacks; the trained head then classifies each new image beside the
// model (with MC-dropout: the head has a dropout layer), and saves or
// loads as a small delta file that names its backbone.

// ftClass is one class of the panel.
type ftClass struct {
	name   *dom.HTMLInputElement
	imgs   []js.Value // ImageBitmaps: snapshots of the stage
	thumbs dom.Element
	count  dom.Element
}

// trainer is the panel's state.
type trainer struct {
	classes []*ftClass
	head    js.Value   // the (first) FineTuned, or undefined
	heads   []js.Value // every head of the ensemble (head is heads[0])
	base    js.Value   // the Model it was trained on
	loss    []float64
	acc     []float64
	busy    bool
	seq     int
}

var tr = &trainer{head: js.Undefined(), base: js.Undefined()}

// bindTrain wires the panel.
func (a *app) bindTrain() {
	a.addClass()
	a.addClass()
	a.on("ft-add-class", "click", func(dom.Event) { a.addClass() })
	a.on("ft-train", "click", func(dom.Event) { a.train() })
	a.on("ft-save", "click", func(dom.Event) { a.saveHead() })
	a.on("ft-unfreeze", "change", func(dom.Event) { go a.ftPlan() })
	a.on("ft-augment", "change", func(dom.Event) { go a.ftPlan() })
	a.on("ft-file", "change", func(dom.Event) {
		in := a.el("ft-file").Underlying()
		if fs := in.Get("files"); fs.Length() > 0 {
			a.loadHead(fs.Index(0))
		}
		in.Set("value", "")
	})
	a.plot()
}

// ftState shows the panel's status; state is also its data-state ("idle",
// "adding", "training", "trained", "loaded", "error"), and data-seq
// counts the changes (a test waits for it to grow).
func (a *app) ftState(state, text string) {
	s := a.el("ft-status")
	tr.seq++
	s.SetAttribute("data-state", state)
	s.SetAttribute("data-seq", sprint(tr.seq))
	s.SetTextContent(text)
}

func (a *app) addClass() {
	i := len(tr.classes)
	row := a.doc.CreateElement("div")
	row.SetAttribute("class", "ft-class")
	row.SetAttribute("id", sprintf("ft-class-%d", i))
	name := a.doc.CreateElement("input").(*dom.HTMLInputElement)
	name.SetAttribute("type", "text")
	name.SetAttribute("aria-label", sprintf("Name of class %d", i+1))
	name.SetID(sprintf("ft-name-%d", i))
	name.SetValue(sprintf("class %d", i+1))
	add := a.doc.CreateElement("button").(dom.HTMLElement)
	add.SetAttribute("type", "button")
	add.SetID(sprintf("ft-add-%d", i))
	add.SetTextContent("Add the stage's image")
	count := a.doc.CreateElement("span")
	count.SetAttribute("class", "note")
	count.SetID(sprintf("ft-count-%d", i))
	count.SetTextContent("0 images")
	thumbs := a.doc.CreateElement("div")
	thumbs.SetAttribute("class", "ft-thumbs")
	for _, e := range []dom.Node{name, add, count, thumbs} {
		row.AppendChild(e)
	}
	a.el("ft-classes").AppendChild(row)
	c := &ftClass{name: name, thumbs: thumbs, count: count}
	tr.classes = append(tr.classes, c)
	add.AddEventListener("click", false, func(dom.Event) { go a.addImage(c) })
}

// addImage snapshots the stage's image into class c.
func (a *app) addImage(c *ftClass) {
	if !a.source.Truthy() {
		a.ftState("error", "Put an image on the stage first (a file, the camera, a drawing or Generate).")
		return
	}
	a.ftState("adding", "Adding the image…")
	// A snapshot: the pad and the generator's canvas are drawn on again later.
	bm, err := await(js.Global().Call("createImageBitmap", a.source))
	if err != nil {
		a.ftState("error", "Could not read the stage's image: "+err.Message)
		return
	}
	c.imgs = append(c.imgs, bm)
	w, h := num(bm.Get("width")), num(bm.Get("height"))
	th := a.doc.CreateElement("canvas")
	tw := math.Max(8, math.Round(28*w/math.Max(h, 1)))
	th.Underlying().Set("width", tw)
	th.Underlying().Set("height", 28)
	th.Underlying().Get("style").Set("width", sprintf("%gpx", math.Min(tw, 112)))
	th.Underlying().Call("getContext", "2d").Call("drawImage", bm, 0, 0, tw, 28)
	c.thumbs.AppendChild(th)
	c.count.SetTextContent(sprintf("%d image%s", len(c.imgs), map[bool]string{true: "", false: "s"}[len(c.imgs) == 1]))
	a.ftState("idle", sprintf("%d images in %d classes.", a.ftImages(), a.ftClasses()))
	a.ftPlan()
}

// ftBlocks fills the "train the last" choice for the loaded model: 0 (the
// head only) to summary().trainableBlocks.
func (a *app) ftBlocks() {
	sel := a.el("ft-unfreeze")
	sel.SetTextContent("")
	n := 0
	if a.info.Truthy() {
		if v := a.info.Get("trainableBlocks"); v.Type() == js.TypeNumber {
			n = v.Int()
		}
	}
	for k := 0; k <= n; k++ {
		o := a.doc.CreateElement("option").(*dom.HTMLOptionElement)
		o.SetValue(sprint(k))
		switch k {
		case 0:
			o.SetTextContent("0 blocks (head only)")
		case 1:
			o.SetTextContent("1 block")
		default:
			o.SetTextContent(sprintf("%d blocks", k))
		}
		sel.AppendChild(o)
	}
	sel.Underlying().Set("disabled", n == 0)
	go a.ftPlan()
}

func (a *app) ftUnfreeze() int {
	v, _ := strconv.Atoi(a.el("ft-unfreeze").(*dom.HTMLSelectElement).Value())
	return v
}

// ftPlan shows what training will hold in memory (model.finetunePlan)
// for the images added so far, before it starts.
func (a *app) ftPlan() {
	note := a.el("ft-memory")
	m := a.model
	if !m.Truthy() {
		note.SetTextContent("")
		return
	}
	n := max(a.ftImages(), 1)
	if a.el("ft-augment").(*dom.HTMLInputElement).Checked() {
		n *= 5 // the image and 4 augmented copies
	}
	blocks := a.ftUnfreeze()
	p, err := await(m.Call("finetunePlan", map[string]any{"unfreeze": blocks, "examples": n, "classes": max(2, a.ftClasses())}))
	if !m.Equal(a.model) || blocks != a.ftUnfreeze() {
		return
	}
	if err != nil {
		note.SetTextContent("Cannot plan the training: " + err.Message)
		return
	}
	parts := p.Get("parts")
	what := "the head only"
	if blocks > 0 {
		what = sprintf("the head and the backbone's last %s (after %s)", plural(blocks, "block"), str(p.Get("at")))
	}
	note.SetAttribute("data-bytes", sprint(num(p.Get("bytes"))))
	note.SetAttribute("data-params", sprint(num(p.Get("trainableParams"))))
	detail := "weights and AdamW state " + bytesText(num(parts.Get("weights"))+num(parts.Get("optimizer")))
	for _, part := range []struct{ name, key string }{{"activations", "activations"}, {"inputs", "inputs"}, {"the frozen part's copy", "stem"}} {
		if v := num(parts.Get(part.key)); v > 0 {
			detail += ", " + part.name + " " + bytesText(v)
		}
	}
	note.SetTextContent(sprintf("Training %s on %d examples: %s parameters, about %s of memory (%s).",
		what, n, countText(num(p.Get("trainableParams"))), bytesText(num(p.Get("bytes"))), detail))
}

func (a *app) ftImages() (n int) {
	for _, c := range tr.classes {
		n += len(c.imgs)
	}
	return n
}

func (a *app) ftClasses() (n int) {
	for _, c := range tr.classes {
		if len(c.imgs) > 0 {
			n++
		}
	}
	return n
}

// train trains a new head on the loaded model.
func (a *app) train() {
	if tr.busy {
		return
	}
	if !a.model.Truthy() {
		a.ftState("error", "Load a model first.")
		return
	}
	if a.ftClasses() < 2 {
		a.ftState("error", "Give at least two classes an image or more.")
		return
	}
	var imgs, labels []any
	seen := map[string]bool{}
	for i, c := range tr.classes {
		name := strings.TrimSpace(c.name.Value())
		if name == "" {
			name = sprintf("class %d", i+1)
		}
		if len(c.imgs) > 0 && seen[name] {
			a.ftState("error", sprintf("Two classes are named “%s”.", name))
			return
		}
		seen[name] = true
		for _, im := range c.imgs {
			imgs, labels = append(imgs, im), append(labels, name)
		}
	}
	epochs := int(a.el("ft-epochs").(*dom.HTMLInputElement).ValueAsNumber())
	lr := a.el("ft-lr").(*dom.HTMLInputElement).ValueAsNumber()
	if epochs < 1 || epochs > 1000 || math.IsNaN(lr) || lr <= 0 {
		a.ftState("error", "Steps must be 1 to 1000 and the rate positive.")
		return
	}
	augment := a.el("ft-augment").(*dom.HTMLInputElement).Checked()
	k := int(a.el("ft-heads").(*dom.HTMLInputElement).ValueAsNumber())
	if k < 1 || k > 5 {
		a.ftState("error", "Heads must be 1 to 5.")
		return
	}
	tr.busy = true
	defer func() { tr.busy = false }()
	a.disposeHead()
	tr.loss, tr.acc = nil, nil
	a.plot()
	m := a.model
	blocks := a.ftUnfreeze()
	a.ftPlan()
	a.ftState("training", sprintf("Training on %d images of %d classes (%s)… %s", len(imgs), a.ftClasses(), backendName(str(m.Get("backend"))), a.el("ft-memory").TextContent()))
	which := ""
	onStep := js.FuncOf(func(_ js.Value, args []js.Value) any {
		s := first(args)
		tr.loss, tr.acc = append(tr.loss, num(s.Get("loss"))), append(tr.acc, num(s.Get("acc")))
		a.plot()
		a.el("ft-status").SetTextContent(sprintf("%sStep %d of %d: loss %.3f, accuracy %.0f%%", which, int(num(s.Get("step"))), int(num(s.Get("steps"))), num(s.Get("loss")), 100*num(s.Get("acc"))))
		return nil
	})
	defer onStep.Release()
	t0 := now()
	seed := math.Floor(js.Global().Get("Math").Call("random").Float() * (1 << 40))
	var heads []js.Value
	drop := func() {
		for _, h := range heads {
			go await(h.Call("dispose"))
		}
	}
	for i := 0; i < k; i++ {
		if k > 1 {
			which = sprintf("Head %d of %d. ", i+1, k)
			tr.loss, tr.acc = nil, nil
		}
		head, err := await(m.Call("finetune", map[string]any{"images": imgs, "labels": labels, "epochs": epochs, "lr": lr, "augment": augment, "onStep": onStep, "seed": seed + float64(i), "unfreeze": blocks}))
		if err != nil {
			drop()
			a.ftState("error", "Training failed: "+err.Message)
			return
		}
		heads = append(heads, head)
		if !m.Equal(a.model) {
			drop()
			a.ftState("error", "The model changed while training: train again.")
			return
		}
	}
	ms := now() - t0
	tr.head, tr.heads, tr.base = heads[0], heads, m
	st := heads[0].Get("stats")
	a.el("ft-save").Underlying().Set("disabled", false)
	ens := ""
	if k > 1 {
		ens = sprintf(" %d heads (seeds differ): their answers are combined; Save keeps the first.", k)
	}
	a.ftState("trained", sprintf("Trained in %s: %d examples (%d features, %s), last loss %.3f, accuracy %.0f%%.%s New images are classified by the new head in the prediction card.",
		msText(ms), int(num(st.Get("examples"))), int(num(st.Get("features"))), str(st.Get("cut")), num(st.Get("loss")), 100*num(st.Get("acc")), ens))
	a.headClassify()
}

// disposeHead drops the trained heads.
func (a *app) disposeHead() {
	for _, h := range tr.heads {
		go await(h.Call("dispose"))
	}
	tr.head, tr.heads, tr.base = js.Undefined(), nil, js.Undefined()
	a.el("ft-save").Underlying().Set("disabled", true)
	a.el("ft-top").SetTextContent("")
	a.el("ft-top").SetAttribute("data-top", "")
	a.el("head-result").Underlying().Set("hidden", true)
}

// headClassify shows the taught head's answer for the stage's image in
// the prediction card: with MC passes M > 0, the mean and deviation per
// class over M masks of the head's dropout (of every head, with several),
// as bars with whiskers; with several heads and M = 0, over the heads.
// headSeq numbers the head's classifications: an answer that arrives
// after a newer classification started is dropped, not shown over it.
var headSeq int

func (a *app) headClassify() {
	if !tr.head.Truthy() {
		return
	}
	if !tr.base.Equal(a.model) {
		a.disposeHead()
		a.ftState("idle", "The model changed: train the head again (the images are kept).")
		return
	}
	if !a.source.Truthy() {
		return
	}
	head, heads := tr.head, tr.heads
	headSeq++
	seq := headSeq
	ol := a.el("ft-top")
	ol.SetTextContent("")
	ol.SetAttribute("data-top", "")
	a.el("head-result").Underlying().Set("hidden", false)
	passes := max(0, min(200, int(a.el("ft-mc").(*dom.HTMLInputElement).ValueAsNumber())))
	opts := map[string]any{"topk": 5}
	end := func() {}
	if passes > 0 {
		opts["mcDropout"] = passes
	}
	if passes > 0 || len(heads) > 1 {
		end = a.longRun("The taught head", opts)
	}
	var r js.Value
	var err *jsError
	if len(heads) > 1 {
		hs := make([]any, len(heads))
		for i, h := range heads {
			hs[i] = h
		}
		r, err = await(a.cnn.Call("ensemble", hs).Call("classify", a.source, opts))
	} else {
		r, err = await(head.Call("classify", a.source, opts))
	}
	end()
	if !head.Equal(tr.head) || seq != headSeq {
		return // another image or head came meanwhile: its answer is the one to show
	}
	sp := a.el("ft-spread")
	if err != nil && err.Code == "aborted" {
		sp.SetTextContent("Cancelled (" + err.Message + ").")
		return
	}
	if err != nil {
		a.ftState("error", "The new head could not classify this image: "+err.Message)
		return
	}
	_, top1 := a.barsInto(ol, r)
	ol.SetAttribute("data-top", str(r.Index(0).Get("label")))
	switch {
	case passes > 0 && len(heads) > 1:
		sp.SetTextContent(sprintf("Mean over %d heads × %d dropout masks; whiskers: ± one standard deviation (top-1: ± %s).", len(heads), passes, pctText(top1)))
	case passes > 0:
		sp.SetTextContent(sprintf("MC-dropout over %d masks of the head's dropout; whiskers: ± one standard deviation (top-1: ± %s).", passes, pctText(top1)))
	case len(heads) > 1:
		sp.SetTextContent(sprintf("Mean over %d heads; whiskers: ± one standard deviation (top-1: ± %s).", len(heads), pctText(top1)))
	default:
		sp.SetTextContent("One pass of the head (MC passes 0): no spread.")
	}
}

// saveHead downloads the head as its delta file.
func (a *app) saveHead() {
	if !tr.head.Truthy() {
		return
	}
	blob, err := await(tr.head.Call("save"))
	if err != nil {
		a.ftState("error", "Could not save the head: "+err.Message)
		return
	}
	url := js.Global().Get("URL").Call("createObjectURL", blob)
	link := a.doc.CreateElement("a")
	link.SetAttribute("href", url.String())
	link.SetAttribute("download", a.id+"-head.json")
	link.Underlying().Call("click")
	js.Global().Call("setTimeout", js.FuncOf(func(js.Value, []js.Value) any {
		js.Global().Get("URL").Call("revokeObjectURL", url)
		return nil
	}), 10000)
	a.ftState("trained", sprintf("Saved %s-head.json (%d bytes): it names %s and loads onto it.", a.id, int(num(blob.Get("size"))), a.id))
}

// loadHead loads a saved head onto the loaded model.
func (a *app) loadHead(f js.Value) {
	if !a.model.Truthy() {
		a.ftState("error", "Load the head's model first.")
		return
	}
	m := a.model
	head, err := await(a.cnn.Call("load", f, m))
	if err != nil {
		a.ftState("error", "Could not load the head: "+err.Message)
		return
	}
	a.disposeHead()
	tr.head, tr.heads, tr.base = head, []js.Value{head}, m
	a.el("ft-save").Underlying().Set("disabled", false)
	labels := head.Get("labels")
	var ls []string
	for i := 0; i < labels.Length(); i++ {
		ls = append(ls, labels.Index(i).String())
	}
	a.ftState("loaded", sprintf("Loaded a head for %s: %s.", a.id, strings.Join(ls, ", ")))
	a.headClassify()
}

//go:build js && wasm

package main

import (
	"math"
	"math/rand/v2"
	"strings"
	"syscall/js"

	"webcnn/site/app/dom"

	"webcnn/site/textstrip"
)

// on listens to an event of an element; fn runs in its own goroutine.
func (a *app) on(id, typ string, fn func(ev dom.Event)) {
	a.el(id).AddEventListener(typ, false, func(ev dom.Event) { go fn(ev) })
}

// bind wires the controls.
func (a *app) bind() {
	a.on("model", "change", func(dom.Event) {
		a.load(a.el("model").(*dom.HTMLSelectElement).Value())
	})
	for _, b := range []string{"cpu", "webgpu"} {
		a.on("be-"+b, "change", func(dom.Event) {
			a.backend = b
			a.store("backend", b)
			if a.id != "" {
				a.load(a.id)
			}
		})
	}
	a.on("mc", "change", func(dom.Event) {
		a.mc = a.el("mc").(*dom.HTMLInputElement).Checked()
		a.classify()
	})
	a.on("mc-m", "change", func(dom.Event) {
		v := int(a.el("mc-m").(*dom.HTMLInputElement).ValueAsNumber())
		a.mcM = max(2, min(200, v))
		if a.mc {
			a.classify()
		}
	})
	// Files: picked, dropped or pasted.
	a.on("file", "change", func(dom.Event) {
		in := a.el("file").Underlying()
		if fs := in.Get("files"); fs.Length() > 0 {
			a.useBlob(fs.Index(0))
		}
		in.Set("value", "")
	})
	stage := a.el("stage")
	stage.AddEventListener("dragover", false, func(ev dom.Event) {
		ev.PreventDefault()
		stage.Class().Add("over")
	})
	stage.AddEventListener("dragleave", false, func(dom.Event) { stage.Class().Remove("over") })
	stage.AddEventListener("drop", false, func(ev dom.Event) {
		ev.PreventDefault()
		stage.Class().Remove("over")
		fs := ev.Underlying().Get("dataTransfer").Get("files")
		if fs.Length() > 0 {
			f := fs.Index(0)
			go a.useBlob(f)
		}
	})
	a.doc.AddEventListener("paste", false, func(ev dom.Event) {
		cd := ev.Underlying().Get("clipboardData")
		if !cd.Truthy() {
			return
		}
		if fs := cd.Get("files"); fs.Length() > 0 {
			ev.PreventDefault()
			f := fs.Index(0)
			go a.useBlob(f)
		}
	})
	a.on("camera", "click", func(dom.Event) { a.camera() })
	a.on("snap", "click", func(dom.Event) { a.snap() })
	a.on("draw", "click", func(dom.Event) { a.drawMode() })
	a.on("clear", "click", func(dom.Event) { a.clearPad() })
	a.on("sample", "click", func(dom.Event) { a.generate() })
	a.on("rotate", "click", func(dom.Event) { a.rotate() })
	a.pad()
}

// network tells in the header's badge whether the site can be reached:
// offline when navigator.onLine says so, else when a HEAD request for
// sw.js?probe (which the service worker lets through to the network)
// fails. It checks at start, on the online and offline events, when the
// page becomes visible, and every 15 seconds.
func (a *app) network() {
	seq := 0
	set := func(on bool) {
		b := a.el("net")
		text, title := "online", "The site answers: new models and updates can download."
		if !on {
			text, title = "offline", "The site cannot be reached: the page runs from its offline copy."
		}
		b.SetTextContent(text)
		b.SetAttribute("title", title)
		b.SetAttribute("data-online", sprint(on))
	}
	check := func() {
		seq++
		me := seq
		if !js.Global().Get("navigator").Get("onLine").Bool() {
			set(false)
			return
		}
		_, err := await(js.Global().Call("fetch", "sw.js?probe", map[string]any{"method": "HEAD", "cache": "no-store"}))
		if me == seq {
			set(err == nil)
		}
	}
	w := dom.GetWindow()
	w.AddEventListener("online", false, func(dom.Event) { go check() })
	w.AddEventListener("offline", false, func(dom.Event) { go check() })
	a.doc.AddEventListener("visibilitychange", false, func(dom.Event) {
		if a.doc.Underlying().Get("visibilityState").String() == "visible" {
			go check()
		}
	})
	go func() {
		for {
			check()
			sleep(15000)
		}
	}()
}

// gpuLabel names the WebGPU choice after the browser's adapter: "WebGPU
// (software, slow)" for a fallback adapter such as SwiftShader, which is
// slower than the CPU backend (the library's "auto" never picks it), and
// "WebGPU (unavailable)" without one.
func (a *app) gpuLabel() {
	label := a.doc.Underlying().Call("querySelector", `label[for="be-webgpu"]`)
	gpu := js.Global().Get("navigator").Get("gpu")
	text, title := "WebGPU (unavailable)", "This browser offers no WebGPU adapter: the CPU runs the models."
	if gpu.Truthy() {
		ad, err := await(gpu.Call("requestAdapter"))
		switch {
		case err != nil || !ad.Truthy():
		case ad.Get("isFallbackAdapter").Truthy() || (ad.Get("info").Truthy() && ad.Get("info").Get("isFallbackAdapter").Truthy()):
			text, title = "WebGPU (software, slow)", "The WebGPU adapter is a software one (such as SwiftShader): correct, but slower than the CPU backend."
		default:
			text, title = "WebGPU", "The GPU, through WebGPU compute shaders."
		}
	}
	// "WebGPU" on the first line, what kind of adapter below it: the two
	// choices stay side by side in the narrow model card.
	name, kind, _ := strings.Cut(text, " (")
	label.Set("textContent", name)
	if kind != "" {
		small := a.doc.CreateElement("small")
		small.SetTextContent(strings.TrimSuffix(kind, ")"))
		label.Call("appendChild", small.Underlying())
	}
	label.Set("title", title)
	a.el("backend").SetAttribute("data-gpu", text)
}

// show makes one of the stage's views visible.
func (a *app) show(view string) {
	for _, v := range []string{"preview", "pad", "gen", "video"} {
		a.el(v).Underlying().Set("hidden", v != view)
	}
	a.el("hint").Underlying().Set("hidden", view != "")
	if view != "" {
		a.el("hint").SetTextContent(a.entry(a.id).hint())
	}
	a.el("clear").Underlying().Set("hidden", view != "pad")
	a.el("snap").Underlying().Set("hidden", view != "video")
	a.el("rotate").Underlying().Set("hidden", view == "" || view == "video")
	a.el("seen-box").Underlying().Set("hidden", true)
	a.el("stage").SetAttribute("data-turned", "false")
	if view != "video" {
		a.stopCamera()
	}
}

// hint says what to give a model of this kind.
func (e *entry) hint() string {
	switch e.kind() {
	case "digit":
		return "Draw a digit (white on black, like MNIST), drop or paste an image, pick a file, use the camera, or generate one."
	case "strip":
		return "Generate a text strip, then rotate it by 180°: the classifier tells upright text (0) from upside-down text (180). Or drop, paste or pick an image of a line of text."
	}
	return "Drop an image here, paste one, pick a file, use the camera, draw, or generate one."
}

// useBlob classifies a picked, dropped or pasted file.
func (a *app) useBlob(f js.Value) {
	img := a.el("preview").Underlying()
	if old := str(img.Get("src")); old != "" {
		js.Global().Get("URL").Call("revokeObjectURL", old)
	}
	img.Set("src", js.Global().Get("URL").Call("createObjectURL", f))
	img.Set("alt", str(f.Get("name")))
	a.el("stage").SetAttribute("data-source", "file")
	a.show("preview")
	a.source = f
	a.classify()
}

// pad sets up the drawing canvas: white strokes on black, like MNIST.
func (a *app) pad() {
	c := a.el("pad")
	ctx := c.Underlying().Call("getContext", "2d")
	drawing := false
	var lx, ly float64
	pos := func(ev js.Value) (float64, float64) {
		r := c.Underlying().Call("getBoundingClientRect")
		sx := c.Underlying().Get("width").Float() / r.Get("width").Float()
		sy := c.Underlying().Get("height").Float() / r.Get("height").Float()
		return (ev.Get("clientX").Float() - r.Get("left").Float()) * sx, (ev.Get("clientY").Float() - r.Get("top").Float()) * sy
	}
	c.AddEventListener("pointerdown", false, func(ev dom.Event) {
		e := ev.Underlying()
		e.Call("preventDefault")
		c.Underlying().Call("setPointerCapture", e.Get("pointerId"))
		drawing = true
		lx, ly = pos(e)
		ctx.Call("beginPath")
		ctx.Call("arc", lx, ly, 9, 0, 2*math.Pi)
		ctx.Call("fill")
	})
	c.AddEventListener("pointermove", false, func(ev dom.Event) {
		if !drawing {
			return
		}
		x, y := pos(ev.Underlying())
		ctx.Call("beginPath")
		ctx.Call("moveTo", lx, ly)
		ctx.Call("lineTo", x, y)
		ctx.Call("stroke")
		lx, ly = x, y
	})
	end := func(dom.Event) {
		if drawing {
			drawing = false
			go a.usePad()
		}
	}
	c.AddEventListener("pointerup", false, end)
	c.AddEventListener("pointercancel", false, end)
	a.clearPad()
}

func (a *app) clearPad() {
	c := a.el("pad").Underlying()
	ctx := c.Call("getContext", "2d")
	ctx.Set("fillStyle", "#000")
	ctx.Call("fillRect", 0, 0, c.Get("width"), c.Get("height"))
	ctx.Set("fillStyle", "#fff")
	ctx.Set("strokeStyle", "#fff")
	ctx.Set("lineWidth", 18)
	ctx.Set("lineCap", "round")
	ctx.Set("lineJoin", "round")
	a.el("stage").SetAttribute("data-turned", "false")
	if a.el("stage").GetAttribute("data-source") == "pad" {
		a.source = js.Undefined()
		a.el("stage").SetAttribute("data-source", "")
		a.el("seen-box").Underlying().Set("hidden", true)
		a.clearBars()
	}
}

// usePad classifies the drawing: framed as MNIST's digits were for a
// digit model, as it is for any other.
func (a *app) usePad() {
	c := a.el("pad").Underlying()
	a.el("stage").SetAttribute("data-source", "pad")
	a.source = c
	if a.entry(a.id).kind() == "digit" {
		if !a.frame(c) {
			return
		}
		a.source = a.el("seen").Underlying()
	}
	a.classify()
}

// frame draws a white-on-black canvas into #seen as an MNIST digit
// (frameDigit: the ink's box scaled to 20 pixels, centered by its mass in
// 28x28) and shows it: that is what a digit model is given. It reports
// false when nothing is drawn.
func (a *app) frame(c js.Value) bool {
	w, h := c.Get("width").Int(), c.Get("height").Int()
	rgba := c.Call("getContext", "2d", map[string]any{"willReadFrequently": true}).Call("getImageData", 0, 0, w, h).Get("data")
	pix := make([]byte, w*h*4)
	js.CopyBytesToGo(pix, rgba)
	ink := make([]float64, w*h)
	for i := range ink {
		ink[i] = (float64(pix[4*i]) + float64(pix[4*i+1]) + float64(pix[4*i+2])) / (3 * 255)
	}
	f, ok := frameDigit(ink, w, h)
	box := a.el("seen-box").Underlying()
	if !ok {
		box.Set("hidden", true)
		return false
	}
	out := make([]byte, 4*len(f))
	for i, v := range f {
		out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] = v, v, v, 255
	}
	seen := a.el("seen").Underlying()
	id := seen.Call("getContext", "2d").Call("createImageData", digitSide, digitSide)
	js.CopyBytesToJS(id.Get("data"), out)
	seen.Call("getContext", "2d").Call("putImageData", id, 0, 0)
	box.Set("hidden", false)
	return true
}

// drawMode shows the drawing pad.
func (a *app) drawMode() {
	a.show("pad")
}

// camera starts the camera (the one facing away from the user on a phone).
func (a *app) camera() {
	md := js.Global().Get("navigator").Get("mediaDevices")
	if !md.Truthy() || !md.Get("getUserMedia").Truthy() {
		a.fail("No camera", &jsError{Code: "camera", Message: "this browser offers no camera to the page (it needs https or localhost)"})
		return
	}
	s, err := await(md.Call("getUserMedia", map[string]any{"video": map[string]any{"facingMode": "environment"}, "audio": false}))
	if err != nil {
		a.fail("Could not open the camera", err)
		return
	}
	a.stopCamera()
	a.stream = s
	v := a.el("video").Underlying()
	v.Set("srcObject", s)
	a.show("video")
	a.stream = s // show stops any other stream, not this one
	await(v.Call("play"))
}

func (a *app) stopCamera() {
	if a.stream.Truthy() {
		tracks := a.stream.Call("getTracks")
		for i := 0; i < tracks.Length(); i++ {
			tracks.Index(i).Call("stop")
		}
		a.stream = js.Undefined()
		a.el("video").Underlying().Set("srcObject", js.Null())
	}
}

// snap captures the camera's frame into the generated-image canvas.
func (a *app) snap() {
	v := a.el("video").Underlying()
	w, h := v.Get("videoWidth").Int(), v.Get("videoHeight").Int()
	if w == 0 {
		return
	}
	c := a.el("gen").Underlying()
	c.Set("width", w)
	c.Set("height", h)
	c.Call("getContext", "2d").Call("drawImage", v, 0, 0, w, h)
	a.el("stage").SetAttribute("data-source", "camera")
	a.show("gen")
	a.source = c
	a.classify()
}

// generate draws a synthetic picture (never a photo) for the model's
// kind: a digit in a system font, slightly rotated, white on black, framed
// as MNIST's were; a line of text-like letters (textstrip: the strokes
// PaddleOCR's orientation classifier reads as text); otherwise colored
// rings, stripes or a checkerboard.
func (a *app) generate() {
	a.gen++
	r := rand.New(rand.NewPCG(uint64(a.gen), 7))
	c := a.el("gen").Underlying()
	kind := a.entry(a.id).kind()
	ctx := c.Call("getContext", "2d")
	c.Get("dataset").Set("kind", kind)
	switch kind {
	case "digit":
		const size = 280
		c.Set("width", size)
		c.Set("height", size)
		ctx.Set("fillStyle", "#000")
		ctx.Call("fillRect", 0, 0, size, size)
		ctx.Call("save")
		ctx.Call("translate", size/2, size/2)
		ctx.Call("rotate", (r.Float64()-0.5)*0.4)
		ctx.Set("fillStyle", "#fff")
		ctx.Set("font", sprintf("bold %dpx sans-serif", size*3/4))
		ctx.Set("textAlign", "center")
		ctx.Set("textBaseline", "middle")
		d := r.IntN(10)
		c.Get("dataset").Set("digit", d)
		ctx.Call("fillText", sprint(d), 0, size*0.04)
		ctx.Call("restore")
	case "strip":
		// Pixel for pixel the strip textstrip.Image renders: the model's
		// 48x192 input, shown magnified.
		c.Set("width", textstrip.W)
		c.Set("height", textstrip.H)
		ctx.Set("fillStyle", sprintf("rgb(%d %d %d)", textstrip.Paper, textstrip.Paper, textstrip.Paper))
		ctx.Call("fillRect", 0, 0, textstrip.W, textstrip.H)
		ctx.Set("fillStyle", sprintf("rgb(%d %d %d)", textstrip.Ink, textstrip.Ink, textstrip.Ink))
		for _, q := range textstrip.Letters(uint64(a.gen)) {
			ctx.Call("fillRect", q.X0, q.Y0, q.X1-q.X0, q.Y1-q.Y0)
		}
	default:
		const size = 224
		c.Set("width", size)
		c.Set("height", size)
		fs := float64(size)
		hue := r.Float64() * 360
		switch a.gen % 3 {
		case 0: // rings
			for k := 12; k > 0; k-- {
				ctx.Set("fillStyle", sprintf("hsl(%.0f 70%% %d%%)", math.Mod(hue+float64(k)*25, 360), 30+4*k))
				ctx.Call("beginPath")
				ctx.Call("arc", fs*(0.3+0.4*r.Float64()), fs*(0.3+0.4*r.Float64()), fs*float64(k)/16, 0, 2*math.Pi)
				ctx.Call("fill")
			}
		case 1: // stripes
			for k := 0; k < 16; k++ {
				ctx.Set("fillStyle", sprintf("hsl(%.0f 80%% %d%%)", math.Mod(hue+float64(k%4)*40, 360), 35+10*(k%3)))
				ctx.Call("fillRect", float64(k)*fs/16, 0, fs/16+1, fs)
			}
		default: // checkerboard
			n := 4 + r.IntN(6)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					l := 25
					if (i+j)%2 == 0 {
						l = 75
					}
					ctx.Set("fillStyle", sprintf("hsl(%.0f 60%% %d%%)", hue, l))
					ctx.Call("fillRect", float64(i)*fs/float64(n), float64(j)*fs/float64(n), fs/float64(n)+1, fs/float64(n)+1)
				}
			}
		}
	}
	a.el("stage").SetAttribute("data-source", "generated")
	a.el("stage").SetAttribute("data-seed", sprint(a.gen))
	a.show("gen")
	a.source = c
	if kind == "digit" {
		a.frame(c)
		a.source = a.el("seen").Underlying()
	}
	a.classify()
}

// rotate turns the image on the stage by 180° (both axes mirrored: exact,
// no resampling) and classifies it again. A drawing turns in place; a
// picked file or a capture turns into the generated-image canvas.
func (a *app) rotate() {
	stage := a.el("stage")
	var src js.Value
	var w, h int
	switch {
	case !a.el("pad").Underlying().Get("hidden").Bool():
		src = a.el("pad").Underlying()
	case !a.el("gen").Underlying().Get("hidden").Bool():
		src = a.el("gen").Underlying()
	case !a.el("preview").Underlying().Get("hidden").Bool():
		src = a.el("preview").Underlying()
		w, h = src.Get("naturalWidth").Int(), src.Get("naturalHeight").Int()
	default:
		return
	}
	if w == 0 {
		w, h = src.Get("width").Int(), src.Get("height").Int()
	}
	if w == 0 || h == 0 {
		return
	}
	// Copy first: a canvas turns in place.
	tmp := a.doc.CreateElement("canvas").Underlying()
	tmp.Set("width", w)
	tmp.Set("height", h)
	tmp.Call("getContext", "2d").Call("drawImage", src, 0, 0)
	dst := src
	if src.Get("tagName").String() == "IMG" {
		dst = a.el("gen").Underlying()
		dst.Set("width", w)
		dst.Set("height", h)
		dst.Get("dataset").Set("kind", "")
	}
	ctx := dst.Call("getContext", "2d")
	ctx.Call("save")
	ctx.Call("setTransform", -1, 0, 0, -1, w, h)
	ctx.Call("drawImage", tmp, 0, 0)
	ctx.Call("restore")
	turned := sprint(stage.GetAttribute("data-turned") != "true")
	source := stage.GetAttribute("data-source")
	if dst.Equal(a.el("pad").Underlying()) {
		stage.SetAttribute("data-turned", turned)
		if source == "pad" { // something is drawn
			a.usePad()
		}
		return
	}
	a.show("gen")
	stage.SetAttribute("data-source", source)
	stage.SetAttribute("data-turned", turned)
	a.source = dst
	if a.entry(a.id).kind() == "digit" && source == "generated" {
		a.frame(dst)
		a.source = a.el("seen").Underlying()
	}
	a.classify()
}

//go:build js && wasm

package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall/js"

	"honnef.co/go/js/dom/v2"
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
	a.pad()
}

// network mirrors navigator.onLine into the header's badge.
func (a *app) network() {
	update := func() {
		b := a.el("net")
		if js.Global().Get("navigator").Get("onLine").Bool() {
			b.SetTextContent("online")
			b.SetAttribute("data-online", "true")
		} else {
			b.SetTextContent("offline")
			b.SetAttribute("data-online", "false")
		}
	}
	w := dom.GetWindow()
	w.AddEventListener("online", false, func(dom.Event) { update() })
	w.AddEventListener("offline", false, func(dom.Event) { update() })
	update()
}

// show makes one of the stage's views visible.
func (a *app) show(view string) {
	for _, v := range []string{"preview", "pad", "gen", "video"} {
		a.el(v).Underlying().Set("hidden", v != view)
	}
	a.el("hint").Underlying().Set("hidden", view != "")
	if view != "" {
		a.el("hint").SetTextContent("Drop an image here, paste one, pick a file, use the camera, or draw.")
	}
	a.el("clear").Underlying().Set("hidden", view != "pad")
	a.el("snap").Underlying().Set("hidden", view != "video")
	if view != "video" {
		a.stopCamera()
	}
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
			a.el("stage").SetAttribute("data-source", "pad")
			a.source = c.Underlying()
			go a.classify()
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
	if a.source.Equal(c) {
		a.source = js.Undefined()
		a.clearBars()
	}
}

// drawMode shows the drawing pad.
func (a *app) drawMode() {
	a.show("pad")
	a.el("stage").SetAttribute("data-source", "pad")
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

// generate draws a synthetic picture (never a photo): for a gray model a
// digit in a system font, slightly rotated, white on black; otherwise
// colored rings, stripes or a checkerboard.
func (a *app) generate() {
	a.gen++
	r := rand.New(rand.NewPCG(uint64(a.gen), 7))
	c := a.el("gen").Underlying()
	e := a.entry(a.id)
	digit := len(e.input) == 4 && e.input[3] == 1
	size := 224
	if digit {
		size = 280
	}
	c.Set("width", size)
	c.Set("height", size)
	ctx := c.Call("getContext", "2d")
	fs := float64(size)
	if digit {
		ctx.Set("fillStyle", "#000")
		ctx.Call("fillRect", 0, 0, size, size)
		ctx.Call("save")
		ctx.Call("translate", fs/2, fs/2)
		ctx.Call("rotate", (r.Float64()-0.5)*0.4)
		ctx.Set("fillStyle", "#fff")
		ctx.Set("font", fmt.Sprintf("bold %dpx sans-serif", size*3/4))
		ctx.Set("textAlign", "center")
		ctx.Set("textBaseline", "middle")
		ctx.Call("fillText", fmt.Sprint(r.IntN(10)), 0, fs*0.04)
		ctx.Call("restore")
	} else {
		hue := r.Float64() * 360
		switch a.gen % 3 {
		case 0: // rings
			for k := 12; k > 0; k-- {
				ctx.Set("fillStyle", fmt.Sprintf("hsl(%.0f 70%% %d%%)", math.Mod(hue+float64(k)*25, 360), 30+4*k))
				ctx.Call("beginPath")
				ctx.Call("arc", fs*(0.3+0.4*r.Float64()), fs*(0.3+0.4*r.Float64()), fs*float64(k)/16, 0, 2*math.Pi)
				ctx.Call("fill")
			}
		case 1: // stripes
			for k := 0; k < 16; k++ {
				ctx.Set("fillStyle", fmt.Sprintf("hsl(%.0f 80%% %d%%)", math.Mod(hue+float64(k%4)*40, 360), 35+10*(k%3)))
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
					ctx.Set("fillStyle", fmt.Sprintf("hsl(%.0f 60%% %d%%)", hue, l))
					ctx.Call("fillRect", float64(i)*fs/float64(n), float64(j)*fs/float64(n), fs/float64(n)+1, fs/float64(n)+1)
				}
			}
		}
	}
	a.el("stage").SetAttribute("data-source", "generated")
	a.show("gen")
	a.source = c
	a.classify()
}

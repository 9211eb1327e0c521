//go:build js && wasm

package main

import (
	"math"
	"strconv"
	"syscall/js"
)

// watchTheme redraws the plot when the page's colour scheme changes.
func (a *app) watchTheme() {
	dark := js.Global().Call("matchMedia", "(prefers-color-scheme: dark)")
	dark.Call("addEventListener", "change", js.FuncOf(func(js.Value, []js.Value) any {
		a.plot()
		return nil
	})) // lives as long as the page
}

// plot draws the training curves of the fine-tuning panel: the loss
// (left axis, 0 to its largest value) and the training accuracy (right
// axis, 0 to 100%) of every step, against the step (bottom axis), in the
// colours of the page's theme (its CSS variables: a dark plot in the dark
// theme).
func (a *app) plot() {
	c := a.el("ft-plot").Underlying()
	g := c.Call("getContext", "2d")
	w, h := c.Get("width").Float(), c.Get("height").Float()
	css := js.Global().Call("getComputedStyle", a.el("train-card").Underlying())
	color := func(name, def string) string {
		if v := css.Call("getPropertyValue", name).String(); v != "" {
			return v
		}
		return def
	}
	bg, ink, muted, line := color("--card", "#fff"), color("--ink", "#1b1f29"), color("--muted", "#5d6475"), color("--line", "#e2e5eb")
	lossCol, accCol := color("--bar", "#2f6fed"), color("--ok", "#16a34a")
	g.Set("fillStyle", bg)
	g.Call("fillRect", 0, 0, w, h)
	const left, right, top, bottom = 46.0, 44.0, 22.0, 30.0
	x0, x1, y0, y1 := left, w-right, h-bottom, top // plot area: y0 is the bottom
	g.Set("font", "11px system-ui, sans-serif")
	g.Set("lineWidth", 1)

	maxLoss := 0.0
	for _, l := range tr.loss {
		maxLoss = math.Max(maxLoss, l)
	}
	if maxLoss <= 0 {
		maxLoss = 1
	}
	n := max(len(tr.loss), 2)
	// Grid and ticks: thirds of each axis.
	for i := 0; i <= 2; i++ {
		f := float64(i) / 2
		y := y0 + (y1-y0)*f
		g.Set("strokeStyle", line)
		g.Call("beginPath")
		g.Call("moveTo", x0, y)
		g.Call("lineTo", x1, y)
		g.Call("stroke")
		g.Set("fillStyle", lossCol)
		g.Set("textAlign", "right")
		g.Call("fillText", strconv.FormatFloat(maxLoss*f, 'g', 2, 64), x0-5, y+4)
		g.Set("fillStyle", accCol)
		g.Set("textAlign", "left")
		g.Call("fillText", strconv.Itoa(int(100*f))+"%", x1+5, y+4)
	}
	g.Set("fillStyle", muted)
	g.Set("textAlign", "center")
	for _, s := range []int{1, (n + 1) / 2, n} {
		x := x0 + float64(s-1)*(x1-x0)/float64(n-1)
		g.Call("fillText", strconv.Itoa(s), x, y0+13)
	}
	g.Call("fillText", "step", (x0+x1)/2, h-4)
	// Axes.
	g.Set("strokeStyle", muted)
	g.Call("beginPath")
	g.Call("moveTo", x0, y1)
	g.Call("lineTo", x0, y0)
	g.Call("lineTo", x1, y0)
	g.Call("lineTo", x1, y1)
	g.Call("stroke")
	// Legend and the last step.
	g.Set("textAlign", "left")
	g.Set("fillStyle", lossCol)
	g.Call("fillText", "loss", 6, 13)
	g.Set("fillStyle", accCol)
	g.Set("textAlign", "right")
	g.Call("fillText", "accuracy", w-6, 13)
	if len(tr.loss) > 0 {
		g.Set("fillStyle", ink)
		g.Set("textAlign", "center")
		g.Call("fillText", sprintf("step %d: loss %.3f, accuracy %.0f%%", len(tr.loss), tr.loss[len(tr.loss)-1], 100*tr.acc[len(tr.acc)-1]), (x0+x1)/2, 13)
	}
	for _, s := range []struct {
		v     []float64
		col   string
		scale float64
	}{{tr.loss, lossCol, maxLoss}, {tr.acc, accCol, 1}} {
		if len(s.v) == 0 {
			continue
		}
		g.Set("strokeStyle", s.col)
		g.Set("lineWidth", 2)
		g.Call("beginPath")
		for i, v := range s.v {
			x, y := x0+float64(i)*(x1-x0)/float64(n-1), y0+(y1-y0)*v/s.scale
			if i == 0 {
				g.Call("moveTo", x, y)
			} else {
				g.Call("lineTo", x, y)
			}
		}
		g.Call("stroke")
	}
}

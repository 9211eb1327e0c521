//go:build js && wasm

package main

import (
	"syscall/js"

	"webcnn/site/app/dom"
)

// Long runs (MC-dropout passes, ensembles of heads) show a progress bar
// with the passes done and a Cancel button in the prediction card; the
// library gets onPass and an AbortSignal, and a cancelled run rejects
// with code "aborted".

// runCtrl is the AbortController of the run in progress, or undefined.
var runCtrl = js.Undefined()

// bindRun wires the Cancel button.
func (a *app) bindRun() {
	a.on("run-cancel", "click", func(dom.Event) {
		if runCtrl.Truthy() {
			runCtrl.Call("abort")
		}
	})
}

// longRun shows the run's bar, puts onPass and signal into opts and
// returns the function that ends the run (hides the bar, releases the
// callback).
func (a *app) longRun(what string, opts map[string]any) (end func()) {
	ctrl := js.Global().Get("AbortController").New()
	runCtrl = ctrl
	box, bar, count := a.el("run"), a.el("run-bar").Underlying(), a.el("run-count")
	bar.Set("value", 0)
	count.SetTextContent(what + "…")
	box.SetAttribute("data-done", "0")
	box.SetAttribute("data-state", "running")
	box.Underlying().Set("hidden", false)
	onPass := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) < 2 || !ctrl.Equal(runCtrl) {
			return nil
		}
		done, total := args[0].Int(), args[1].Int()
		bar.Set("value", float64(done)/float64(max(total, 1)))
		count.SetTextContent(sprintf("%s: pass %d of %d", what, done, total))
		box.SetAttribute("data-done", sprint(done))
		box.SetAttribute("data-total", sprint(total))
		return nil
	})
	opts["onPass"] = onPass
	opts["signal"] = ctrl.Get("signal")
	return func() {
		onPass.Release()
		if ctrl.Equal(runCtrl) {
			runCtrl = js.Undefined()
			box.SetAttribute("data-state", "ended")
			box.Underlying().Set("hidden", true)
		}
	}
}

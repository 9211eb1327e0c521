//go:build js && wasm

package main

import (
	"fmt"
	"sync"
	"syscall/js"
)

// Cancellation of long runs: cnn.mjs gives a call with an AbortSignal a
// number ({abort: n}) and calls abort(n) when the signal fires; the run
// stops at its next pass with ErrAborted ("aborted").
var (
	abortsMu sync.Mutex
	aborts   = map[int]bool{}
)

// jsAbort is abort(n): the run numbered n stops at its next pass.
func (l *library) jsAbort(args []js.Value) js.Value {
	if n := arg(args, 0); n.Type() == js.TypeNumber {
		abortsMu.Lock()
		aborts[n.Int()] = true
		abortsMu.Unlock()
	}
	return js.Undefined()
}

// runOptions reads a long run's options into co: onPass(done, total) and
// abort (the run's number). The returned function forgets the number.
func runOptions(o js.Value, co *ClassifyOptions) (done func()) {
	r := &Run{}
	if on := opt(o, "onPass"); on.Type() == js.TypeFunction {
		r.OnPass = func(done, total int) { on.Invoke(done, total) }
		co.Run = r
	}
	n := opt(o, "abort")
	if n.Type() != js.TypeNumber {
		return func() {}
	}
	id := n.Int()
	co.Run = r
	r.Canceled = func() bool {
		abortsMu.Lock()
		defer abortsMu.Unlock()
		return aborts[id]
	}
	return func() {
		abortsMu.Lock()
		delete(aborts, id)
		abortsMu.Unlock()
	}
}

// jsHeadsClassify is headsClassify([heads], pixels, {topk, mcDropout,
// seed, onPass, abort}) -> Promise<[{label, index, prob, mean, variance}]>:
// an ensemble of fine-tuned heads (each with MC-dropout when asked).
func (l *library) jsHeadsClassify(args []js.Value) js.Value {
	hs, p, o := arg(args, 0), arg(args, 1), arg(args, 2)
	return promise(func() (any, error) {
		if !hs.InstanceOf(js.Global().Get("Array")) {
			return nil, fmt.Errorf("%w: an ensemble of heads takes an array of fine-tuned heads", ErrBadInput)
		}
		fs := make([]*fineTuned, hs.Length())
		for i := range fs {
			f, err := headOf(hs.Index(i))
			if err != nil {
				return nil, fmt.Errorf("head %d: %w", i, err)
			}
			fs[i] = f
		}
		img, err := pixels(p)
		if err != nil {
			return nil, err
		}
		co, err := classifyOptions(o)
		if err != nil {
			return nil, err
		}
		defer runOptions(o, &co)()
		ps, err := headsClassify(fs, img, co)
		if err != nil {
			return nil, err
		}
		return predictions(ps), nil
	})
}

//go:build js && wasm

package main

import (
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"webcnn/core/data"
)

// heads are the fine-tuned heads by handle (numbered with the models).
var (
	headsMu sync.Mutex
	heads   = map[int]*fineTuned{}
)

func (l *library) addHead(f *fineTuned) int {
	l.mu.Lock()
	l.next++
	h := l.next
	l.mu.Unlock()
	headsMu.Lock()
	heads[h] = f
	headsMu.Unlock()
	return h
}

func headOf(h js.Value) (*fineTuned, error) {
	if h.Type() != js.TypeNumber {
		return nil, fmt.Errorf("%w: not a fine-tuned head's handle", ErrBadInput)
	}
	headsMu.Lock()
	defer headsMu.Unlock()
	f := heads[h.Int()]
	if f == nil {
		return nil, fmt.Errorf("fine-tuned head: %w", ErrDisposed)
	}
	return f, nil
}

func headResult(h int, f *fineTuned) map[string]any {
	labels := make([]any, len(f.labels))
	for i, s := range f.labels {
		labels[i] = s
	}
	cut := f.base.featCut
	if f.tail != nil {
		cut = blocksText(f.blocks, f.at)
	}
	return map[string]any{"handle": h, "labels": labels, "features": f.dim, "cut": cut, "dropout": f.dropout, "base": f.base.man.Model, "unfrozen": f.blocks}
}

// jsFinetune is finetune(handle, {images: [pixels], labels: [string],
// classes, epochs, lr, weightDecay, augment, copies, dropout,
// labelSmoothing, seed, onStep}) -> Promise<{handle, labels, features,
// cut, examples, loss, acc, ms}>.
func (l *library) jsFinetune(args []js.Value) js.Value {
	h, o := arg(args, 0), arg(args, 1)
	return promise(func() (any, error) {
		start := time.Now()
		m, err := l.model(h)
		if err != nil {
			return nil, err
		}
		ims, ls := opt(o, "images"), opt(o, "labels")
		if !ims.InstanceOf(js.Global().Get("Array")) || !ls.InstanceOf(js.Global().Get("Array")) || ims.Length() != ls.Length() {
			return nil, fmt.Errorf("%w: finetune takes {images: [...], labels: [...]} of the same length", ErrBadInput)
		}
		var classes []string
		index := map[string]int{}
		if cs := opt(o, "classes"); cs.InstanceOf(js.Global().Get("Array")) {
			for i := 0; i < cs.Length(); i++ {
				index[cs.Index(i).String()] = len(classes)
				classes = append(classes, cs.Index(i).String())
			}
		}
		imgs := make([]*data.Image, ims.Length())
		labels := make([]int, len(imgs))
		for i := range imgs {
			if imgs[i], err = pixels(ims.Index(i)); err != nil {
				return nil, fmt.Errorf("image %d: %w", i, err)
			}
			name := js.Global().Get("String").Invoke(ls.Index(i)).String()
			k, ok := index[name]
			if !ok {
				k = len(classes)
				index[name] = k
				classes = append(classes, name)
			}
			labels[i] = k
		}
		fo := FinetuneOptions{Steps: optInt(o, "epochs", 40), Augment: opt(o, "augment").Truthy(), Copies: optInt(o, "copies", 4),
			LR: float32(optFloat(o, "lr", 0.01)), Decay: float32(optFloat(o, "weightDecay", 0.01)),
			Dropout: float32(optFloat(o, "dropout", 0.2)), Smoothing: float32(optFloat(o, "labelSmoothing", 0.1)),
			Seed:     uint64(optFloat(o, "seed", float64(time.Now().UnixNano()%(1<<50)))),
			Unfreeze: optInt(o, "unfreeze", 0), TailLR: float32(optFloat(o, "tailLR", 0.01))}
		if on := opt(o, "onStep"); on.Type() == js.TypeFunction {
			fo.OnStep = func(step, steps int, loss, acc float64) {
				on.Invoke(map[string]any{"step": step, "steps": steps, "loss": loss, "acc": acc})
			}
		}
		f, res, err := m.finetune(imgs, labels, classes, fo)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.id, err)
		}
		r := headResult(l.addHead(f), f)
		r["examples"], r["loss"], r["acc"], r["ms"] = res.Examples, res.Loss, res.Acc, msSince(start)
		return r, nil
	})
}

func optFloat(o js.Value, name string, def float64) float64 {
	if v := opt(o, name); v.Type() == js.TypeNumber {
		return v.Float()
	}
	return def
}

// jsHeadClassify is headClassify(head, pixels, {topk, mcDropout, seed}).
func (l *library) jsHeadClassify(args []js.Value) js.Value {
	h, p, o := arg(args, 0), arg(args, 1), arg(args, 2)
	return promise(func() (any, error) {
		f, err := headOf(h)
		if err != nil {
			return nil, err
		}
		co, err := classifyOptions(o)
		if err != nil {
			return nil, err
		}
		img, err := pixels(p)
		if err != nil {
			return nil, err
		}
		defer runOptions(o, &co)() // mc.go: onPass, abort
		ps, err := f.classify(img, co)
		if err != nil {
			return nil, err
		}
		return predictions(ps), nil
	})
}

// jsHeadSave is headSave(head) -> Promise<Uint8Array> (the delta manifest JSON).
func (l *library) jsHeadSave(args []js.Value) js.Value {
	h := arg(args, 0)
	return promise(func() (any, error) {
		f, err := headOf(h)
		if err != nil {
			return nil, err
		}
		b, err := f.save()
		if err != nil {
			return nil, err
		}
		u := js.Global().Get("Uint8Array").New(len(b))
		js.CopyBytesToJS(u, b)
		return u, nil
	})
}

// jsHeadLoad is headLoad(model, Uint8Array) -> Promise<{handle, labels, ...}>.
func (l *library) jsHeadLoad(args []js.Value) js.Value {
	h, b := arg(args, 0), arg(args, 1)
	return promise(func() (any, error) {
		m, err := l.model(h)
		if err != nil {
			return nil, err
		}
		if !b.InstanceOf(js.Global().Get("Uint8Array")) {
			return nil, fmt.Errorf("%w: headLoad takes the delta file's bytes", ErrBadInput)
		}
		f, err := m.loadDelta(bytesOf(b))
		if err != nil {
			return nil, err
		}
		return headResult(l.addHead(f), f), nil
	})
}

// jsHeadDispose is headDispose(head) -> Promise<void>.
func (l *library) jsHeadDispose(args []js.Value) js.Value {
	h := arg(args, 0)
	return promise(func() (any, error) {
		if h.Type() != js.TypeNumber {
			return nil, nil
		}
		headsMu.Lock()
		f := heads[h.Int()]
		delete(heads, h.Int())
		headsMu.Unlock()
		if f != nil {
			f.dispose()
		}
		return nil, nil
	})
}

// jsFinetunePlan is finetunePlan(handle, {unfreeze, examples, classes}) ->
// Promise<{blocks, maxBlocks, at, features, trainableParams, bytes,
// parts: {weights, optimizer, inputs, activations, stem}}>: what
// finetune will hold in memory, before it starts.
func (l *library) jsFinetunePlan(args []js.Value) js.Value {
	h, o := arg(args, 0), arg(args, 1)
	return promise(func() (any, error) {
		m, err := l.model(h)
		if err != nil {
			return nil, err
		}
		p, err := m.finetunePlan(optInt(o, "unfreeze", 0), optInt(o, "examples", 0), optInt(o, "classes", 2))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.id, err)
		}
		return map[string]any{"blocks": p.Blocks, "maxBlocks": p.MaxBlocks, "at": p.At, "features": p.Features,
			"trainableParams": float64(p.TrainableParams), "bytes": float64(p.Total()),
			"parts": map[string]any{"weights": float64(p.Weights), "optimizer": float64(p.Optimizer), "inputs": float64(p.Inputs),
				"activations": float64(p.Activations), "stem": float64(p.Stem)}}, nil
	})
}

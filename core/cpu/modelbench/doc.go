// Package modelbench times whole networks on the CPU backend, natively and
// compiled to js/wasm: MobileNetV2 at 224x224, batch 1, as the zoo builds
// it (seeded random weights; batch norm as its own op, and folded into the
// convolutions for inference) and as the browser benchmark runs it
// (nsfwjs's Keras MobileNetV2 imported from node_modules, fused at load),
// and the zoo's ResNet-18 at 224x224, batch 1, folded for inference.
// Each benchmark also reports the milliseconds spent per kind of kernel,
// from a backend that wraps core/cpu and times every call; with -test.v it
// logs them per kernel shape too.
//
//	go test -run '^$' -bench . -benchtime 5x ./core/cpu/modelbench/
//	PATH=$(go env GOROOT)/lib/wasm:$PATH GOOS=js GOARCH=wasm go test -run '^$' -bench . -benchtime 5x ./core/cpu/modelbench/
//
// It lives apart from core/cpu so that the kernel package's tests do not
// depend on the model zoo and the converters.
package modelbench

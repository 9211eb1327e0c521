package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestSprintf compares sprintf and sprint with fmt, the oracle, on the
// page's formats and the edges of the verbs.
func TestSprintf(t *testing.T) {
	for _, c := range []struct {
		format string
		args   []any
	}{
		{"%.0f kB", []any{177.704}},
		{"%.1f MB", []any{6.81119}},
		{"%.2f GB", []any{1.999}},
		{"%.3g%%", []any{0.0123456}},
		{"%.3g%%", []any{1.79e-05}},
		{"%.1f%%", []any{99.95}},
		{"%.2f%%", []any{float32(12.345)}},
		{"%gpx", []any{112.5}},
		{"%g", []any{1e21}},
		{"%f %e", []any{1.5, 123456.789}},
		{"%d×%d %s", []any{28, 28, "gray"}},
		{"step %d: loss %.3f, acc %.0f%%", []any{3, 0.69314, 87.5}},
		{"%s (%.1f M)", []any{"2,542,856", 2.542856}},
		{"Saved %s-head.json (%d bytes): it names %s and loads onto it.", []any{"lenet5-mnist", int64(4096), "lenet5-mnist"}},
		{"%v %v %v %v", []any{true, 0.1, float32(0.1), -7}},
		{"hsl(%.0f 70%% %d%%)", []any{215.4, 45}},
		{"rgb(%d %d %d)", []any{0, 128, 255}},
		{"%s", []any{errors.New("boom")}},
		{"“%s” ± %s…", []any{"été", "0.5%"}},
		{"%d %d", []any{1}},
		{"100%", nil},
	} {
		if got, want := sprintf(c.format, c.args...), fmt.Sprintf(c.format, c.args...); got != want {
			t.Errorf("sprintf(%q, %v) = %q, fmt says %q", c.format, c.args, got, want)
		}
	}
	for _, v := range []any{"s", 3, int64(-4), 0.30000000000000004, float32(0.7), 1e-7, true, nil} {
		if got, want := sprint(v), fmt.Sprint(v); got != want {
			t.Errorf("sprint(%#v) = %q, fmt says %q", v, got, want)
		}
	}
}

// TestNoFmt: app.wasm must not link fmt, reflect, encoding/json or time
// (go list -deps of the js/wasm build): fmt and reflect are about 140 kB
// after brotli, time 40 kB, of a first visit that must stay under 2 MB.
func TestNoFmt(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "fmt" || p == "reflect" || p == "encoding/json" || p == "time" {
			t.Errorf("site/app (js/wasm) depends on %s: use sprintf/sprint (sprintf.go), sleep and now (js_js.go), and syscall/js", p)
		}
	}
}

package site

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSIMDProbe: cnn.mjs picks cnn.wasm (built with wasm SIMD) or
// cnn-scalar.wasm by WebAssembly.validate on a probe module. Node (every
// current engine has wasm SIMD) must accept the probe, and reject it once
// its SIMD instruction is replaced by an opcode no engine defines: the
// probe tests SIMD, not merely that it is a module. Both files are built.
func TestSIMDProbe(t *testing.T) {
	src, err := Static.ReadFile("static/cnn.mjs")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`WebAssembly\.validate\(new Uint8Array\(\s*\[([0-9, ]+)\]\)\)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("cnn.mjs: no WebAssembly.validate(new Uint8Array([...])) probe")
	}
	probe := string(m[1])
	if !strings.Contains(probe, "253, 98, 11") {
		t.Fatalf("probe %s does not end with i8x16.popcnt (253, 98) and end (11)", probe)
	}
	broken := strings.Replace(probe, "253, 98, 11", "253, 255, 1, 11", 1) // 0xfd 0xff: no such SIMD opcode
	if !regexp.MustCompile(`SIMD \? "cnn\.wasm" : "cnn-scalar\.wasm"`).Match(src) {
		t.Error(`cnn.mjs does not choose SIMD ? "cnn.wasm" : "cnn-scalar.wasm"`)
	}
	var files []string
	for _, w := range Wasm {
		files = append(files, w.File)
	}
	for _, f := range []string{"cnn.wasm", "cnn-scalar.wasm"} {
		if !slices.Contains(files, f) {
			t.Errorf("site.Wasm builds %v, not %s", files, f)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node to run WebAssembly.validate")
	}
	for _, c := range []struct {
		bytes string
		want  string
	}{{probe, "true"}, {broken, "false"}} {
		out, err := exec.Command(node, "-e", "console.log(WebAssembly.validate(new Uint8Array(["+c.bytes+"])))").CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("WebAssembly.validate([%s]) = %s under Node, want %s", c.bytes, got, c.want)
		}
	}
}

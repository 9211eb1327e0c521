package webgpu

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

// The kernels, one per file; act.wgsl is the library of elementwise
// functions that unary, matmul, conv and depthwise share.
//
//go:embed shaders/*.wgsl
var shaderFS embed.FS

// defs are a kernel's specialization: integer constants (tile sizes,
// workgroup size, the unary op) and flags (VEC4, TRANS_A...). Each becomes a
// WGSL `const`, and a flag that is not zero keeps the lines between
// `//#if NAME` and `//#else` or `//#endif`.
type defs map[string]int

// key is a canonical spelling of d: pipelines are cached by shader and key.
func (d defs) key() string {
	names := make([]string, 0, len(d))
	for n := range d {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%d;", n, d[n])
	}
	return b.String()
}

// uses lists the library files each kernel is compiled with.
var uses = map[string][]string{
	"unary":     {"act"},
	"matmul":    {"act"},
	"conv":      {"act"},
	"depthwise": {"act"},
}

// source returns the WGSL of kernel name specialized by d: a header of
// constants, the libraries it uses, then the kernel, each preprocessed.
func source(name string, d defs) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "// %s %s\n", name, d.key())
	names := make([]string, 0, len(d))
	for n := range d {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "const %s = %d;\n", n, d[n])
	}
	for _, f := range append(append([]string(nil), uses[name]...), name) {
		raw, err := shaderFS.ReadFile("shaders/" + f + ".wgsl")
		if err != nil {
			return "", fmt.Errorf("webgpu: shader %s: %w", f, err)
		}
		text, err := preprocess(string(raw), d)
		if err != nil {
			return "", fmt.Errorf("webgpu: shader %s.wgsl: %w", f, err)
		}
		b.WriteString(text)
	}
	return b.String(), nil
}

// preprocess keeps or drops the lines of src between `//#if NAME` (or
// `//#if !NAME`), `//#else` and `//#endif` according to d; blocks nest.
// A NAME that d lacks is false.
func preprocess(src string, d defs) (string, error) {
	type frame struct{ parent, cond, sawElse bool }
	var stack []frame
	active := true
	var out strings.Builder
	for i, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "//#if "):
			name := strings.TrimSpace(t[len("//#if "):])
			neg := strings.HasPrefix(name, "!")
			name = strings.TrimPrefix(name, "!")
			if name == "" || strings.ContainsAny(name, " \t") {
				return "", fmt.Errorf("line %d: bad condition %q", i+1, t)
			}
			cond := (d[name] != 0) != neg
			stack = append(stack, frame{parent: active, cond: cond})
			active = active && cond
			continue
		case t == "//#else":
			if len(stack) == 0 {
				return "", fmt.Errorf("line %d: #else without #if", i+1)
			}
			f := &stack[len(stack)-1]
			if f.sawElse {
				return "", fmt.Errorf("line %d: second #else", i+1)
			}
			f.sawElse = true
			active = f.parent && !f.cond
			continue
		case t == "//#endif":
			if len(stack) == 0 {
				return "", fmt.Errorf("line %d: #endif without #if", i+1)
			}
			active = stack[len(stack)-1].parent
			stack = stack[:len(stack)-1]
			continue
		case strings.HasPrefix(t, "//#"):
			return "", fmt.Errorf("line %d: unknown directive %q", i+1, t)
		}
		if active {
			out.WriteString(line)
			out.WriteByte('\n')
		}
	}
	if len(stack) != 0 {
		return "", fmt.Errorf("%d unterminated #if", len(stack))
	}
	return out.String(), nil
}

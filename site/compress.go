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
	"runtime"
	"sync"
)

// BrotliQuality is the quality Precompress asks of the brotli command:
// the highest, which makes cnn.wasm 190 kB smaller than quality 9 but
// takes over a minute for it on one core (hence the cache).
const BrotliQuality = 11

// BrotliChunkQuality is the quality for chunk files over 1 MiB (the
// MobileNetV2 backbone's): quality 5 takes its 3.7 MB f16 chunk to 2.06
// MB in a few seconds (its weights came 8-bit quantized, so they repeat),
// quality 9 only to 2.05 MB, and 11 would take minutes on every build
// that changes them.
const BrotliChunkQuality = 5

// Precompress writes name.br beside every text, wasm and chunk file of
// dir (brotli takes 8% off LeNet-5's float weights, gzip 7%: worth it
// once, not on every request) with Debian's brotli command
// (quality 11, a 16 MB window: the largest that browsers accept), and
// returns the bytes before and after. Go's standard library has no brotli
// encoder, and browsers send "Accept-Encoding: br" on localhost and https:
// brotli makes the runtime about 25% smaller than gzip -9. Results are
// kept in the user's cache directory by the sha256 of the input, so a
// rebuild of unchanged files is instant. Without the command it returns
// ErrNoBrotli and writes nothing (Handler then serves gzip).
func Precompress(ctx context.Context, dir string, logf func(string, ...any)) (raw, packed int64, err error) {
	exe, err := exec.LookPath("brotli")
	if err != nil {
		return 0, 0, ErrNoBrotli
	}
	cache := ""
	if d, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(d, "webcnn-brotli")
		os.MkdirAll(cache, 0o755)
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		// cnn-scalar.wasm, for the few engines without wasm SIMD, goes out
		// gzipped on the fly: brotli at -q 11 would take as long again as
		// for cnn.wasm at every build, for a file most visitors never fetch.
		if err == nil && !d.IsDir() && (compressible[filepath.Ext(p)] || filepath.Ext(p) == ".bin") && d.Name() != "cnn-scalar.wasm" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	// One brotli per core: cnn.wasm and app.wasm compress side by side.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, runtime.NumCPU())
	)
	for _, p := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			n, m, err := brotliFile(ctx, exe, cache, p, logf)
			mu.Lock()
			raw, packed = raw+n, packed+m
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return raw, packed, errors.Join(errs...)
}

// brotliFile writes p.br, from the cache when it holds p's bytes.
func brotliFile(ctx context.Context, exe, cache, p string, logf func(string, ...any)) (raw, packed int64, err error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, 0, err
	}
	sum := sha256.Sum256(b)
	key := filepath.Join(cache, hex.EncodeToString(sum[:16])+".br")
	out, err := os.ReadFile(key)
	if cache == "" || err != nil {
		q := BrotliQuality
		if filepath.Ext(p) == ".bin" && len(b) > 1<<20 {
			q = BrotliChunkQuality
		}
		cmd := exec.CommandContext(ctx, exe, "-c", "-q", fmt.Sprint(q), "-w", "24", p)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if out, err = cmd.Output(); err != nil {
			return 0, 0, fmt.Errorf("site: brotli %s: %v: %s", p, err, stderr.String())
		}
		if cache != "" {
			if f, err := os.CreateTemp(cache, "tmp-*"); err == nil {
				_, err = f.Write(out)
				if f.Close() == nil && err == nil {
					os.Rename(f.Name(), key)
				}
				os.Remove(f.Name())
			}
		}
		if len(b) > 1<<20 && logf != nil {
			logf("brotli -q%d %s: %d -> %d bytes", q, filepath.Base(p), len(b), len(out))
		}
	}
	return int64(len(b)), int64(len(out)), os.WriteFile(p+".br", out, 0o644)
}

// ErrNoBrotli says that the brotli command is missing.
var ErrNoBrotli = fmt.Errorf("site: no brotli command (apt-get install brotli): the site is served with gzip only")

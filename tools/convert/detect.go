package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// tfjsFiles are the files a TF.js model directory holds its model in.
var tfjsFiles = []string{"model.json", "model.min.js", "model.js"}

// detect reads the format of path from its bytes: a directory holding a
// TF.js model file is tfjs; a zip archive or a pickle is a PyTorch file;
// an 8-byte little-endian length followed by '{' is safetensors; JSON or
// JavaScript is a TF.js model file; a protobuf that starts as an ONNX
// ModelProto does is onnx. A directory without a model file, or bytes
// that match no format, are errors naming path.
func detect(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		for _, f := range tfjsFiles {
			if _, err := os.Stat(filepath.Join(path, f)); err == nil {
				return "tfjs", nil
			}
		}
		return "", fmt.Errorf("%s is a directory with no model file in it: want a TF.js model's %s there, or give the .onnx, .pth/.pt or .safetensors file itself", path, strings.Join(tfjsFiles, ", "))
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 64)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	head = head[:n]
	text := bytes.TrimLeft(head, " \t\r\n\ufeff")
	switch {
	case n == 0:
		return "", fmt.Errorf("%s is empty", path)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), len(head) > 1 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5:
		return "pytorch", nil
	case n >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) < 1<<40:
		return "safetensors", nil
	case len(text) > 0 && (text[0] == '{' || text[0] == '['),
		strings.HasSuffix(path, ".js"), strings.HasSuffix(path, ".mjs"):
		return "tfjs", nil
	case head[0] == 0x08 || head[0] == 0x12 || head[0] == 0x3a || head[0] == 0x42:
		// ModelProto's ir_version (field 1, varint), producer_name (2),
		// graph (7) or opset_import (8): the fields exporters write first.
		return "onnx", nil
	}
	return "", fmt.Errorf("%s: format not recognised from its bytes % x...: want ONNX, a PyTorch .pth/.pt, safetensors or a TF.js model.json", path, head[:min(n, 8)])
}

// format decides how to read o.In: --from when its bytes agree (or cannot
// be told), else what they say, with a note on log.
func format(o options, log io.Writer) (string, error) {
	switch o.From {
	case "", "pytorch", "safetensors", "onnx", "tfjs":
	default:
		return "", fmt.Errorf("--from %q: want pytorch, safetensors, onnx or tfjs", o.From)
	}
	got, err := detect(o.In)
	switch {
	case err != nil && o.From == "":
		return "", err
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", err
		}
		if st, serr := os.Stat(o.In); serr == nil && st.IsDir() {
			return "", err
		}
		return o.From, nil // unrecognised bytes: let the reader say what is wrong
	case o.From == "" || o.From == got:
		return got, nil
	}
	if log != nil {
		fmt.Fprintf(log, "convert: --from %s, but %s is %s (from its bytes): reading it as %s\n", o.From, o.In, got, got)
	}
	return got, nil
}

// truncation names a file that ended before its contents did: the readers
// wrap io.ErrUnexpectedEOF, and a zip archive (PyTorch) without its
// central directory at the end is cut short too.
func truncation(path string, err error) error {
	if err == nil {
		return nil
	}
	f, ferr := os.Open(path)
	if ferr != nil {
		return err
	}
	defer f.Close()
	st, ferr := f.Stat()
	if ferr != nil || st.IsDir() {
		return err
	}
	cut := errors.Is(err, io.ErrUnexpectedEOF)
	if head := make([]byte, 4); !cut {
		if _, rerr := f.ReadAt(head, 0); rerr == nil && string(head) == "PK\x03\x04" {
			tail := make([]byte, min(st.Size(), 1<<16+22)) // the end record and its longest comment
			if _, rerr := f.ReadAt(tail, st.Size()-int64(len(tail))); rerr == nil && !bytes.Contains(tail, []byte("PK\x05\x06")) {
				cut = true
			}
		}
	}
	if !cut {
		return err
	}
	return fmt.Errorf("%s is truncated (%d bytes: it ends before its contents do; copy or download it again): %w", path, st.Size(), err)
}

// prepareOut refuses to convert into a directory that holds files unless
// force is set.
func prepareOut(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			return fmt.Errorf("--out %s is a file, not a directory", dir)
		}
		return err
	case len(entries) == 0 || force:
		return nil
	}
	return fmt.Errorf("--out %s is not empty (%d entries, e.g. %s): give --force to replace it (the old contents are removed, nothing is merged)", dir, len(entries), entries[0].Name())
}

// replace makes staged the directory dir: the old dir, if any, is moved
// aside, staged renamed in its place, and the old one removed, so dir
// never holds old and new files mixed.
func replace(staged, dir string) error {
	old := ""
	if _, err := os.Stat(dir); err == nil {
		tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), ".convert-old-")
		if err != nil {
			return err
		}
		old = filepath.Join(tmp, "old")
		if err := os.Rename(dir, old); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("--force: move the old %s aside: %w", dir, err)
		}
		defer os.RemoveAll(tmp)
	}
	if err := os.Rename(staged, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir) // put the old model back
		}
		return fmt.Errorf("--force: replace %s: %w", dir, err)
	}
	return nil
}

package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// IndexFile lists the models a store serves, for stores that cannot list
// a directory (static assets, R2 through its binding). A model directory
// dropped into models/ is served by id without it; WriteIndex adds it to
// the list.
const IndexFile = "models/index.json"

// Index is the content of IndexFile.
type Index struct {
	Models []string `json:"models"`
}

// ReadIndex returns the model ids of IndexFile or, where the store has
// none and can list directories, of the models/ subdirectories holding a
// manifest.json.
func ReadIndex(fsys fs.FS) ([]string, error) {
	b, err := fs.ReadFile(fsys, IndexFile)
	if err == nil {
		var ix Index
		if err := json.Unmarshal(b, &ix); err != nil {
			return nil, fmt.Errorf("%s: %w", IndexFile, err)
		}
		return ix.Models, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", IndexFile, err)
	}
	ids, err := ScanIndex(fsys)
	if err != nil {
		return nil, fmt.Errorf("no %s and models/ cannot be listed: %w", IndexFile, err)
	}
	return ids, nil
}

// ScanIndex lists the models/ subdirectories that hold a manifest.json
// (none where there is no models/).
func ScanIndex(fsys fs.FS) ([]string, error) {
	ents, err := fs.ReadDir(fsys, "models")
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, e := range ents {
		if !e.IsDir() || !validID(e.Name()) {
			continue
		}
		if _, err := fs.Stat(fsys, dir(e.Name())+"/manifest.json"); err == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// WriteIndex writes root/models/index.json listing the model directories
// under root/models (run it after dropping one in).
func WriteIndex(root string) error {
	ids, err := ScanIndex(os.DirFS(root))
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(Index{Models: ids}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, filepath.FromSlash(IndexFile)), append(b, '\n'), 0o644)
}

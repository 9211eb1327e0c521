package data

import "errors"

// errNoGo is wrapped by the module-folder lookups (MNISTDir) when there is
// no go command to ask, as under js/wasm; tests skip on it.
var errNoGo = errors.New("the go command is not available")

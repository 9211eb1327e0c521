package pytorch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Argument kinds of pickle opcodes (pickletools' ArgumentDescriptors).
const (
	argNone   = iota
	argFixed  // n bytes
	argLine   // up to and including '\n'
	argLines2 // two lines (GLOBAL, INST)
	argCount  // an n-byte little-endian length, then that many bytes
)

type opArg struct{ kind, n int }

// opArgs describes every opcode of pickle protocols 0 to 5.
var opArgs = map[byte]opArg{
	'(': {}, '.': {}, '0': {}, '1': {}, '2': {}, 'N': {}, 'Q': {}, 'R': {},
	'a': {}, 'b': {}, 'd': {}, '}': {}, 'e': {}, 'l': {}, ']': {}, 'o': {},
	's': {}, 't': {}, ')': {}, 'u': {},
	0x81: {}, 0x85: {}, 0x86: {}, 0x87: {}, 0x88: {}, 0x89: {},
	0x8f: {}, 0x90: {}, 0x91: {}, 0x92: {}, 0x93: {}, 0x94: {}, 0x97: {}, 0x98: {},
	'F': {argLine, 0}, 'I': {argLine, 0}, 'L': {argLine, 0}, 'P': {argLine, 0},
	'S': {argLine, 0}, 'V': {argLine, 0}, 'g': {argLine, 0}, 'p': {argLine, 0},
	'c': {argLines2, 0}, 'i': {argLines2, 0},
	'J': {argFixed, 4}, 'K': {argFixed, 1}, 'M': {argFixed, 2}, 'G': {argFixed, 8},
	'h': {argFixed, 1}, 'j': {argFixed, 4}, 'q': {argFixed, 1}, 'r': {argFixed, 4},
	0x80: {argFixed, 1}, 0x82: {argFixed, 1}, 0x83: {argFixed, 2}, 0x84: {argFixed, 4},
	// FRAME's opcodes follow it inline and are scanned as such.
	0x95: {argFixed, 8}, 'T': {argCount, 4}, 'U': {argCount, 1}, 'X': {argCount, 4}, 'B': {argCount, 4},
	'C': {argCount, 1}, 0x8a: {argCount, 1}, 0x8b: {argCount, 4}, 0x8c: {argCount, 1},
	0x8d: {argCount, 8}, 0x8e: {argCount, 8}, 0x96: {argCount, 8},
}

// scanPickle walks the opcodes of the pickle at the start of b and
// returns its length (up to and including STOP). It rejects unknown
// opcodes and any length, frame or line that runs past the end of b, so
// that the unpickler, which allocates what a length asks for before
// reading, never allocates more than len(b) for one argument.
func scanPickle(b []byte) (int, error) {
	i := 0
	for i < len(b) {
		op := b[i]
		a, ok := opArgs[op]
		if !ok {
			return 0, fmt.Errorf("unknown pickle opcode 0x%02x at byte %d", op, i)
		}
		at := i
		i++
		switch a.kind {
		case argFixed:
			if len(b)-i < a.n {
				return 0, fmt.Errorf("pickle opcode 0x%02x at byte %d: truncated", op, at)
			}
			if op == 0x95 {
				if n := binary.LittleEndian.Uint64(b[i:]); n > uint64(len(b)-i-8) {
					return 0, fmt.Errorf("pickle frame of %d bytes at byte %d runs past the end", n, at)
				}
			}
			i += a.n
		case argLine, argLines2:
			for range a.kind - argLine + 1 {
				nl := bytes.IndexByte(b[i:], '\n')
				if nl < 0 {
					return 0, fmt.Errorf("pickle opcode %q at byte %d: unterminated line", op, at)
				}
				i += nl + 1
			}
		case argCount:
			if len(b)-i < a.n {
				return 0, fmt.Errorf("pickle opcode 0x%02x at byte %d: truncated", op, at)
			}
			var n uint64
			for k := a.n - 1; k >= 0; k-- {
				n = n<<8 | uint64(b[i+k])
			}
			i += a.n
			if n > uint64(len(b)-i) {
				return 0, fmt.Errorf("pickle opcode 0x%02x at byte %d: %d bytes past the end", op, at, n)
			}
			i += int(n)
		}
		if op == '.' {
			return i, nil
		}
	}
	return 0, fmt.Errorf("pickle without STOP: %w", io.ErrUnexpectedEOF)
}

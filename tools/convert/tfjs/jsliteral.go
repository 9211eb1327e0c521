package tfjs

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Some packages ship TF.js models as JavaScript (nsfwjs bundles model.json
// as a browserify module whose value is an object literal, and each shard
// as a module exporting a base64 string) so that bundlers can import them.
// This file reads the exported value of such a module without running it:
// a parser for the literal subset of JavaScript that minifiers emit
// (objects with bare keys, arrays, strings, numbers, !0 and !1 for the
// booleans, void 0).

// errNoLiteral reports a module with no exported literal.
var errNoLiteral = errors.New("no exported literal")

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

// exportedValue returns the first value assigned to exports (module.exports=,
// a.exports=) or exported by default (export default) in a JavaScript module
// that parses as a literal and satisfies accept.
func exportedValue(src string, accept func(any) bool) (any, error) {
	for _, marker := range []string{"exports", "export default"} {
		from := 0
		for {
			i := strings.Index(src[from:], marker)
			if i < 0 {
				break
			}
			at := from + i + len(marker)
			from = at
			p := &jsParser{src: src, pos: at}
			p.space()
			if marker == "exports" {
				if !p.eat("=") || p.peek() == '=' {
					continue
				}
			}
			v, err := p.value(0)
			if err == nil && accept(v) {
				return v, nil
			}
		}
	}
	return nil, errNoLiteral
}

// assignedValue returns the literal assigned to name (`name = {...}`).
func assignedValue(src, name string) (any, error) {
	from := 0
	for {
		i := strings.Index(src[from:], name)
		if i < 0 {
			return nil, fmt.Errorf("%w: nothing assigned to %s", errNoLiteral, name)
		}
		p := &jsParser{src: src, pos: from + i + len(name)}
		from = p.pos
		p.space()
		if !p.eat("=") || p.peek() == '=' {
			continue
		}
		if v, err := p.value(0); err == nil {
			return v, nil
		}
	}
}

// shardBytes decodes a shard module: one exported base64 string.
func shardBytes(src string) ([]byte, error) {
	v, err := exportedValue(src, func(v any) bool { _, ok := v.(string); return ok })
	if err != nil {
		return nil, err
	}
	s := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
			return nil, fmt.Errorf("shard is not base64: %w", err)
		}
	}
	return b, nil
}

// jsParser reads JavaScript literals from src at pos.
type jsParser struct {
	src string
	pos int
}

func (p *jsParser) errorf(format string, args ...any) error {
	return fmt.Errorf("javascript literal at byte %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jsParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// space skips white space and comments.
func (p *jsParser) space() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			p.pos++
		case strings.HasPrefix(p.src[p.pos:], "//"):
			if i := strings.IndexByte(p.src[p.pos:], '\n'); i >= 0 {
				p.pos += i + 1
			} else {
				p.pos = len(p.src)
			}
		case strings.HasPrefix(p.src[p.pos:], "/*"):
			if i := strings.Index(p.src[p.pos+2:], "*/"); i >= 0 {
				p.pos += i + 4
			} else {
				p.pos = len(p.src)
			}
		default:
			return
		}
	}
}

// eat consumes s if it comes next.
func (p *jsParser) eat(s string) bool {
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	return false
}

// word consumes an identifier if one comes next.
func (p *jsParser) word() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (p.pos > start && c >= '0' && c <= '9') {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

// value parses one literal: the result is what encoding/json would decode
// (map[string]any, []any, string, float64, bool, nil).
func (p *jsParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nested deeper than %d", maxDepth)
	}
	p.space()
	switch c := p.peek(); {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"' || c == '\'':
		return p.str()
	case c == '!':
		p.pos++
		p.space()
		switch {
		case p.eat("0"):
			return true, nil
		case p.eat("1"):
			return false, nil
		}
		return nil, p.errorf("'!' must be followed by 0 or 1")
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		return p.number()
	}
	switch w := p.word(); w {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null", "undefined":
		return nil, nil
	case "void":
		p.space()
		if _, err := p.number(); err != nil {
			return nil, err
		}
		return nil, nil
	case "":
		return nil, p.errorf("unexpected %q", p.peek())
	default:
		return nil, p.errorf("identifier %q is not a literal", w)
	}
}

func (p *jsParser) object(depth int) (any, error) {
	p.pos++ // {
	m := map[string]any{}
	for {
		p.space()
		if p.eat("}") {
			return m, nil
		}
		var key string
		switch c := p.peek(); {
		case c == '"' || c == '\'':
			s, err := p.str()
			if err != nil {
				return nil, err
			}
			key = s
		case c >= '0' && c <= '9' || c == '.':
			n, err := p.number()
			if err != nil {
				return nil, err
			}
			key = strconv.FormatFloat(n, 'f', -1, 64)
		default:
			if key = p.word(); key == "" {
				return nil, p.errorf("expected a key, found %q", c)
			}
		}
		p.space()
		if !p.eat(":") {
			return nil, p.errorf("expected ':' after key %q", key)
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[key] = v
		p.space()
		if p.eat(",") {
			continue
		}
		if p.eat("}") {
			return m, nil
		}
		return nil, p.errorf("expected ',' or '}' in an object")
	}
}

func (p *jsParser) array(depth int) (any, error) {
	p.pos++ // [
	a := []any{}
	for {
		p.space()
		if p.eat("]") {
			return a, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.space()
		if p.eat(",") {
			continue
		}
		if p.eat("]") {
			return a, nil
		}
		return nil, p.errorf("expected ',' or ']' in an array")
	}
}

// number parses a decimal or hexadecimal number with an optional sign.
func (p *jsParser) number() (float64, error) {
	neg := false
	for p.peek() == '-' || p.peek() == '+' {
		if p.peek() == '-' {
			neg = !neg
		}
		p.pos++
		p.space()
	}
	start := p.pos
	var v float64
	if strings.HasPrefix(p.src[p.pos:], "0x") || strings.HasPrefix(p.src[p.pos:], "0X") {
		p.pos += 2
		for p.pos < len(p.src) && strings.IndexByte("0123456789abcdefABCDEF", p.src[p.pos]) >= 0 {
			p.pos++
		}
		u, err := strconv.ParseUint(p.src[start+2:p.pos], 16, 64)
		if err != nil {
			return 0, p.errorf("bad hex number %q", p.src[start:p.pos])
		}
		v = float64(u)
	} else {
		for p.pos < len(p.src) {
			c := p.src[p.pos]
			if c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' ||
				((c == '-' || c == '+') && p.pos > start && (p.src[p.pos-1] == 'e' || p.src[p.pos-1] == 'E')) {
				p.pos++
				continue
			}
			break
		}
		if p.pos == start {
			if p.eat("Infinity") {
				return 0, p.errorf("Infinity has no JSON form")
			}
			return 0, p.errorf("expected a number")
		}
		f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
		if err != nil {
			return 0, p.errorf("bad number %q", p.src[start:p.pos])
		}
		v = f
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, p.errorf("number %q out of range", p.src[start:p.pos])
	}
	if neg {
		v = -v
	}
	return v, nil
}

// str parses a single- or double-quoted string with JavaScript escapes.
func (p *jsParser) str() (string, error) {
	q := p.src[p.pos]
	p.pos++
	start := p.pos
	// Fast path: no escapes (a shard's base64 string is megabytes long).
	if i := strings.IndexByte(p.src[p.pos:], q); i >= 0 && !strings.ContainsAny(p.src[p.pos:p.pos+i], "\\\n") {
		p.pos += i + 1
		return p.src[start : p.pos-1], nil
	}
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			return "", p.errorf("unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), nil
		case c == '\n':
			return "", p.errorf("newline in a string")
		case c != '\\':
			b.WriteByte(c)
			p.pos++
			continue
		}
		p.pos++ // backslash
		if p.pos >= len(p.src) {
			return "", p.errorf("unterminated string")
		}
		e := p.src[p.pos]
		p.pos++
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '0':
			b.WriteByte(0)
		case '\n': // line continuation
		case 'x':
			r, err := p.hex(2)
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
		case 'u':
			r, err := p.unicode()
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
		default:
			b.WriteByte(e)
		}
	}
}

// hex reads n hex digits.
func (p *jsParser) hex(n int) (rune, error) {
	if p.pos+n > len(p.src) {
		return 0, p.errorf("short escape")
	}
	v, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
	if err != nil {
		return 0, p.errorf("bad escape %q", p.src[p.pos:p.pos+n])
	}
	p.pos += n
	return rune(v), nil
}

// unicode reads the rest of \uXXXX (joining surrogate pairs) or \u{X...}.
func (p *jsParser) unicode() (rune, error) {
	if p.eat("{") {
		i := strings.IndexByte(p.src[p.pos:], '}')
		if i < 1 || i > 6 {
			return 0, p.errorf("bad \\u{} escape")
		}
		r, err := p.hex(i)
		p.pos++
		if err != nil || !utf8.ValidRune(r) {
			return 0, p.errorf("bad \\u{} escape")
		}
		return r, nil
	}
	r, err := p.hex(4)
	if err != nil {
		return 0, err
	}
	if utf16.IsSurrogate(r) && strings.HasPrefix(p.src[p.pos:], "\\u") {
		save := p.pos
		p.pos += 2
		if r2, err := p.hex(4); err == nil {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, nil
			}
		}
		p.pos = save
	}
	return r, nil
}

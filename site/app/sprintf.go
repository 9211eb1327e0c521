package main

import "strconv"

// sprintf formats as fmt.Sprintf does for the verbs the page uses: %s,
// %d and %v (as sprint), %f, %e and %g with an optional precision, and
// %%. The UI does without fmt: fmt and the reflection it brings are
// about 140 kB of app.wasm after brotli, a tenth of the first visit.
func sprintf(format string, args ...any) string {
	b := make([]byte, 0, len(format)+16)
	n := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		prec := -1
		if i+1 < len(format) && format[i+1] == '.' {
			i++
			prec = 0
			for i+1 < len(format) && format[i+1] >= '0' && format[i+1] <= '9' {
				i++
				prec = prec*10 + int(format[i]-'0')
			}
		}
		if i+1 >= len(format) {
			b = append(b, "%!(NOVERB)"...)
			break
		}
		i++
		verb := format[i]
		if verb == '%' {
			b = append(b, '%')
			continue
		}
		if n >= len(args) {
			b = append(b, '%', '!', verb)
			b = append(b, "(MISSING)"...)
			continue
		}
		arg := args[n]
		n++
		switch verb {
		case 'f', 'e', 'g':
			f, bits, ok := float(arg)
			if !ok {
				b = append(b, '%', '!', verb, '(')
				b = append(b, sprint(arg)...)
				b = append(b, ')')
				continue
			}
			if prec < 0 && verb != 'g' {
				prec = 6
			}
			b = strconv.AppendFloat(b, f, verb, prec, bits)
		default:
			b = append(b, sprint(arg)...)
		}
	}
	return string(b)
}

// float reads a number argument and its size in bits.
func float(v any) (float64, int, bool) {
	switch v := v.(type) {
	case float64:
		return v, 64, true
	case float32:
		return float64(v), 32, true
	case int:
		return float64(v), 64, true
	case int64:
		return float64(v), 64, true
	}
	return 0, 0, false
}

// sprint formats a value as fmt.Sprint does, for strings, errors,
// Stringers, booleans, integers and floats.
func sprint(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case error:
		return v.Error()
	case interface{ String() string }:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case nil:
		return "<nil>"
	}
	return "%!v(unsupported)"
}

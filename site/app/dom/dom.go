//go:build js && wasm

// Package dom is the part of the DOM that the page's UI uses, with the
// names and signatures of honnef.co/go/js/dom/v2, on syscall/js. That
// package wraps the whole DOM: hundreds of types whose methods all stay
// in the binary once their values pass through its interfaces, 0.76 MB of
// app.wasm's code (4.9 MB raw, 1.06 MB gzip, before this package).
// Elements are concrete types chosen by tag name (input, select, option,
// the rest), so that the UI's type assertions read as with the original.
package dom

import (
	"strings"
	"syscall/js"
)

// Node is anything in the document.
type Node interface {
	Underlying() js.Value
}

// Event is a DOM event.
type Event interface {
	Underlying() js.Value
	PreventDefault()
}

// Element is an element of the document.
type Element interface {
	Node
	TextContent() string
	SetTextContent(s string)
	GetAttribute(name string) string
	SetAttribute(name, value string)
	AppendChild(child Node)
	AddEventListener(typ string, useCapture bool, listener func(Event)) js.Func
	Class() *TokenList
	ID() string
	SetID(id string)
}

// HTMLElement is an element of an HTML document.
type HTMLElement interface {
	Element
	Style() *CSSStyleDeclaration
}

// Window is the page's window.
type Window struct{ v js.Value }

// GetWindow returns the page's window.
func GetWindow() *Window { return &Window{js.Global()} }

// Document returns the window's document.
func (w *Window) Document() Document { return Document{w.v.Get("document")} }

// AddEventListener listens to an event of the window; the returned
// function must be released by whoever removes the listener.
func (w *Window) AddEventListener(typ string, useCapture bool, listener func(Event)) js.Func {
	return listen(w.v, typ, useCapture, listener)
}

// Document is the page's document.
type Document struct{ v js.Value }

// Underlying returns the JS object.
func (d Document) Underlying() js.Value { return d.v }

// GetElementByID returns the element with the id, or nil.
func (d Document) GetElementByID(id string) Element { return wrap(d.v.Call("getElementById", id)) }

// CreateElement creates an element with the tag name.
func (d Document) CreateElement(tag string) Element { return wrap(d.v.Call("createElement", tag)) }

// CreateTextNode creates a text node.
func (d Document) CreateTextNode(s string) *Text { return &Text{d.v.Call("createTextNode", s)} }

// AddEventListener listens to an event of the document.
func (d Document) AddEventListener(typ string, useCapture bool, listener func(Event)) js.Func {
	return listen(d.v, typ, useCapture, listener)
}

// Text is a text node.
type Text struct{ v js.Value }

// Underlying returns the JS object.
func (t *Text) Underlying() js.Value { return t.v }

// BasicHTMLElement is any HTML element.
type BasicHTMLElement struct{ v js.Value }

var _ HTMLElement = (*BasicHTMLElement)(nil)

// wrap picks the element's type by its tag name; a null is a nil Element.
func wrap(v js.Value) Element {
	if v.IsNull() || v.IsUndefined() {
		return nil
	}
	b := BasicHTMLElement{v}
	switch strings.ToLower(v.Get("tagName").String()) {
	case "input":
		return &HTMLInputElement{b}
	case "select":
		return &HTMLSelectElement{b}
	case "option":
		return &HTMLOptionElement{b}
	}
	return &b
}

func (e *BasicHTMLElement) Underlying() js.Value     { return e.v }
func (e *BasicHTMLElement) TextContent() string      { return e.v.Get("textContent").String() }
func (e *BasicHTMLElement) SetTextContent(s string)  { e.v.Set("textContent", s) }
func (e *BasicHTMLElement) SetAttribute(n, v string) { e.v.Call("setAttribute", n, v) }
func (e *BasicHTMLElement) AppendChild(child Node)   { e.v.Call("appendChild", child.Underlying()) }
func (e *BasicHTMLElement) ID() string               { return e.v.Get("id").String() }
func (e *BasicHTMLElement) SetID(id string)          { e.v.Set("id", id) }
func (e *BasicHTMLElement) Class() *TokenList        { return &TokenList{e.v.Get("classList")} }
func (e *BasicHTMLElement) Style() *CSSStyleDeclaration {
	return &CSSStyleDeclaration{e.v.Get("style")}
}

// GetAttribute returns an attribute's value, "" when it is missing.
func (e *BasicHTMLElement) GetAttribute(name string) string {
	v := e.v.Call("getAttribute", name)
	if v.IsNull() {
		return ""
	}
	return v.String()
}

// AddEventListener listens to an event of the element.
func (e *BasicHTMLElement) AddEventListener(typ string, useCapture bool, listener func(Event)) js.Func {
	return listen(e.v, typ, useCapture, listener)
}

// HTMLInputElement is an <input>.
type HTMLInputElement struct{ BasicHTMLElement }

func (e *HTMLInputElement) Checked() bool          { return e.v.Get("checked").Bool() }
func (e *HTMLInputElement) Value() string          { return e.v.Get("value").String() }
func (e *HTMLInputElement) SetValue(v string)      { e.v.Set("value", v) }
func (e *HTMLInputElement) ValueAsNumber() float64 { return e.v.Get("valueAsNumber").Float() }

// HTMLSelectElement is a <select>.
type HTMLSelectElement struct{ BasicHTMLElement }

func (e *HTMLSelectElement) Value() string     { return e.v.Get("value").String() }
func (e *HTMLSelectElement) SetValue(v string) { e.v.Set("value", v) }

// HTMLOptionElement is an <option>.
type HTMLOptionElement struct{ BasicHTMLElement }

func (e *HTMLOptionElement) SetValue(v string) { e.v.Set("value", v) }

// TokenList is an element's classList.
type TokenList struct{ v js.Value }

func (t *TokenList) Add(token string)    { t.v.Call("add", token) }
func (t *TokenList) Remove(token string) { t.v.Call("remove", token) }

// CSSStyleDeclaration is an element's style.
type CSSStyleDeclaration struct{ v js.Value }

// SetProperty sets a CSS property ("" priority, or "important").
func (s *CSSStyleDeclaration) SetProperty(name, value, priority string) {
	s.v.Call("setProperty", name, value, priority)
}

// BasicEvent is any event.
type BasicEvent struct{ v js.Value }

func (e *BasicEvent) Underlying() js.Value { return e.v }
func (e *BasicEvent) PreventDefault()      { e.v.Call("preventDefault") }

func listen(target js.Value, typ string, useCapture bool, listener func(Event)) js.Func {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		listener(&BasicEvent{args[0]})
		return nil
	})
	target.Call("addEventListener", typ, f, useCapture)
	return f
}

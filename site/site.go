// Package site builds and serves the web page: Build assembles a site
// directory (the static files of static/, the library cnn.wasm built from
// wasm/lib, the UI app.wasm built from site/app, wasm_exec.js, and the
// demo models), and Handler serves one with the right MIME types, gzip,
// and caching headers (immutable content-addressed chunks, no-cache
// elsewhere). The commands are thin:
//
//	go run ./site/build -out build/site            build the site with the demo models
//	go run ./site/serve -dir build/site -addr 127.0.0.1:8080
package site

import "embed"

// Static holds the page's files (index.html, style.css, app.mjs, cnn.mjs,
// cnn.d.ts, sw.js, icon.svg, app.webmanifest).
//
//go:embed static
var Static embed.FS

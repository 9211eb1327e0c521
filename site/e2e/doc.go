// Package e2e is the web page's end-to-end test: it builds the site
// (site.Build), serves it with site.Handler on a loopback port, and drives
// headless Chromium (chromedp) through what a person does: pick a model,
// give it images, switch backends, turn on MC-dropout, reload from the
// cache, go offline, and meet a corrupt chunk and an unsupported file. It
// compares the page's answers with the native CPU backend's and saves a
// screenshot of each state in build/screenshots/.
//
// It needs chromium-headless-shell or chromium (site/testdata/install-browser.sh)
// and skips without one unless CNN_REQUIRE_BROWSER=1.
package e2e

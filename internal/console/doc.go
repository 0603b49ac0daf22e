// Package console serves Vigil's web console: server-rendered HTML pages
// (html/template, embedded with the stylesheet and a small script) for
// every path of the server that is not the REST API, /healthz or /metrics.
//
// The console is an in-process client of the REST API. It holds no store
// and no authority of its own: every page reads its data by calling the
// API's http.Handler with the signed-in user's session token, and every
// action is an HTML form POST (carrying a CSRF token bound to the
// session) that the console forwards to the matching API route. The API
// therefore enforces every permission even when the console would show a
// control it should not; the console only hides actions the user's role
// does not allow.
//
// All strings are in two catalogs (English and Simplified Chinese); the
// language comes from a cookie set by the switcher, else Accept-Language.
//
// It is imported by internal/server only and imports no other Vigil
// package (its tests assemble a real store and API).
package console

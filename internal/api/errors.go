package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Error codes of the JSON error body.
const (
	codeInvalid          = "invalid"
	codeInvalidJSON      = "invalid_json"
	codeUnauthenticated  = "unauthenticated"
	codeForbidden        = "forbidden"
	codeScope            = "insufficient_scope"
	codeNotFound         = "not_found"
	codeMethod           = "method_not_allowed"
	codeConflict         = "conflict"
	codeLastAdmin        = "last_admin"
	codeTooLarge         = "too_large"
	codeMediaType        = "unsupported_media_type"
	codeTooMany          = "too_many_attempts"
	codeBadCredentials   = "invalid_credentials"
	codeUnavailable      = "unavailable"
	codeInternal         = "internal"
	msgInternal          = "internal error"
	msgUnauthenticated   = "a valid bearer token is required"
	msgInvalidCredential = "invalid name or password"
)

// apiError is an error with the status and code it answers with.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, codeInvalid, format, args...)
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// classify maps an error to the response it gets. Store sentinels become
// 404/400/409 with the store's text (which names the offending key, never
// data); anything unexpected is a 500 with a fixed text.
func classify(err error) *apiError {
	var ae *apiError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &tooLarge):
		return errorf(http.StatusRequestEntityTooLarge, codeTooLarge, "request body over %d bytes", tooLarge.Limit)
	case errors.Is(err, auth.ErrUnauthenticated):
		return errorf(http.StatusUnauthorized, codeUnauthenticated, msgUnauthenticated)
	case errors.Is(err, auth.ErrRole):
		return errorf(http.StatusForbidden, codeForbidden, "your role does not allow this")
	case errors.Is(err, auth.ErrScopeTooSmall):
		return errorf(http.StatusForbidden, codeScope, "the token's scopes do not allow this")
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, codeNotFound, "not found")
	case errors.Is(err, store.ErrInvalid):
		return invalidf("%s", strings.TrimPrefix(err.Error(), "store: "))
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, codeConflict, "already exists")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusServiceUnavailable, codeUnavailable, "request cancelled or timed out")
	}
	return errorf(http.StatusInternalServerError, codeInternal, msgInternal)
}

// fail writes err as the JSON error body, logging what is not the
// caller's fault.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	if ae.status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else if ae.status == http.StatusUnauthorized {
		s.log.DebugContext(r.Context(), "unauthenticated", "path", r.URL.Path, "remote", remoteAddr(r), "err", err)
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
	}
	writeJSON(w, ae.status, errorBody{Error: errorDetail{Code: ae.code, Message: ae.message}})
}

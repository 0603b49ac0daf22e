package pki

import (
	"crypto/x509"
	"time"
)

// DefaultRenewFraction is the part of a certificate's lifetime after which
// an agent asks for a new one: with 2/3, a 30-day certificate is renewed
// after 20 days, leaving 10 days for retries while the server is away.
const DefaultRenewFraction = 2.0 / 3

// NeedsRenewal reports whether cert should be renewed at now: once fraction
// of the time from its NotBefore to its NotAfter has passed. A fraction
// outside (0, 1] means DefaultRenewFraction. A nil certificate, or one
// already expired, needs renewal.
func NeedsRenewal(cert *x509.Certificate, now time.Time, fraction float64) bool {
	if cert == nil || !now.Before(cert.NotAfter) {
		return true
	}
	if !(fraction > 0 && fraction <= 1) { // NaN too
		fraction = DefaultRenewFraction
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	renewAt := cert.NotBefore.Add(time.Duration(float64(life) * fraction))
	return !now.Before(renewAt)
}

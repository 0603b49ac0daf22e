package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
)

// A planted secret: the lines inserted into a file and its type. The
// values are random but have the format (prefix, alphabet, length,
// checksum) of real credentials; none is a live credential.
type planted struct {
	Type  string
	Lines []string
}

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"
	alnum       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b64chars    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	digits      = "0123456789"
)

func randStr(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// base62 encodes n with GitHub's token alphabet, left-padded with '0' to
// width characters.
func base62(n uint32, width int) string {
	var b []byte
	for n > 0 {
		b = append([]byte{alnum[n%62]}, b...)
		n /= 62
	}
	for len(b) < width {
		b = append([]byte{'0'}, b...)
	}
	return string(b)
}

// githubToken returns a token with GitHub's published format: prefix, 30
// random base62 characters, then the CRC32 of those 30 characters in base62
// (6 characters).
func githubToken(r *rand.Rand, prefix string) string {
	body := randStr(r, alnum, 30)
	return prefix + body + base62(crc32.ChecksumIEEE([]byte(body)), 6)
}

func jwt(r *rand.Rand) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"sub":  fmt.Sprintf("user-%d", r.IntN(1000000)),
		"name": randStr(r, "abcdefghijklmnopqrstuvwxyz", 8),
		"iat":  1700000000 + r.IntN(10000000),
		"role": "admin",
	})
	payload := enc.EncodeToString(claims)
	key := []byte(randStr(r, alnum, 32))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(header + "." + payload))
	return header + "." + payload + "." + enc.EncodeToString(mac.Sum(nil))
}

// ecKey returns a PEM "EC PRIVATE KEY" block made from the seeded source
// (a deterministic scalar, so the corpus is reproducible).
func ecKey(r *rand.Rand) []string {
	curve := elliptic.P256()
	for {
		d := make([]byte, 32)
		for i := range d {
			d[i] = byte(r.UintN(256))
		}
		k, err := ecdsa.ParseRawPrivateKey(curve, d)
		if err != nil {
			continue
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			continue
		}
		s := strings.TrimRight(string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), "\n")
		return strings.Split(s, "\n")
	}
}

// secretTypes are planted in turn; their line formats are what code and
// configuration hold (an assignment or an environment line with the
// provider's usual variable name).
var secretTypes = []string{
	"aws", "github-pat", "alibaba", "tencent", "slack-bot", "stripe",
	"gitlab-pat", "private-key", "db-uri", "jwt", "google-api-key", "sendgrid",
}

func makeSecret(r *rand.Rand, typ string) planted {
	p := planted{Type: typ}
	switch typ {
	case "aws":
		p.Lines = []string{
			fmt.Sprintf(`aws_access_key_id = "AKIA%s"`, randStr(r, upperDigits, 16)),
			fmt.Sprintf(`aws_secret_access_key = "%s"`, randStr(r, b64chars, 40)),
		}
	case "github-pat":
		p.Lines = []string{fmt.Sprintf(`GITHUB_TOKEN=%s`, githubToken(r, "ghp_"))}
	case "alibaba":
		p.Lines = []string{
			fmt.Sprintf(`alibaba_access_key_id: "LTAI%s"`, randStr(r, alnum, 20)),
			fmt.Sprintf(`alibaba_access_key_secret: "%s"`, randStr(r, alnum, 30)),
		}
	case "tencent":
		p.Lines = []string{
			fmt.Sprintf(`TENCENTCLOUD_SECRET_ID=AKID%s`, randStr(r, alnum, 32)),
			fmt.Sprintf(`TENCENTCLOUD_SECRET_KEY=%s`, randStr(r, alnum, 32)),
		}
	case "slack-bot":
		p.Lines = []string{fmt.Sprintf(`SLACK_BOT_TOKEN="xoxb-%s-%s-%s"`,
			randStr(r, digits, 12), randStr(r, digits, 13), randStr(r, alnum, 24))}
	case "stripe":
		p.Lines = []string{fmt.Sprintf(`stripe.Key = "sk_live_%s"`, randStr(r, alnum, 24+r.IntN(76)))}
	case "gitlab-pat":
		p.Lines = []string{fmt.Sprintf(`GITLAB_TOKEN=glpat-%s`, randStr(r, alnum+"-_", 20))}
	case "private-key":
		p.Lines = ecKey(r)
	case "db-uri":
		schemes := []string{"postgres", "mysql", "mongodb", "redis", "amqp"}
		p.Lines = []string{fmt.Sprintf(`DATABASE_URL=%s://%s:%s@db-%d.prod.internal:5432/app`,
			schemes[r.IntN(len(schemes))], randStr(r, "abcdefghijklmnopqrstuvwxyz", 6),
			randStr(r, alnum, 20), r.IntN(100))}
	case "jwt":
		p.Lines = []string{fmt.Sprintf(`Authorization: Bearer %s`, jwt(r))}
	case "google-api-key":
		p.Lines = []string{fmt.Sprintf(`GOOGLE_API_KEY="AIza%s"`, randStr(r, alnum+"-_", 35))}
	case "sendgrid":
		p.Lines = []string{fmt.Sprintf(`SENDGRID_API_KEY=SG.%s.%s`, randStr(r, alnum+"-_", 22), randStr(r, alnum+"-_", 43))}
	default:
		panic("unknown secret type " + typ)
	}
	return p
}

package secret

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// vgPlausible rejects values that are references or placeholders rather
// than secrets: ${VAR}, {{ .Values.x }}, os.Getenv, <your-password>,
// changeme, xxxx, ****.
func vgPlausible(s string) bool {
	l := strings.ToLower(s)
	if l == "" || strings.Trim(l, l[:1]) == "" {
		return false
	}
	switch l[0] {
	case '$', '%', '@', '<', '{', '*':
		return false
	}
	for _, bad := range []string{"${", "{{", "}}", "$(", "%(", "<", ">", "getenv", "process.env", "environ", "env[",
		"xxxx", "****", "....", "changeme", "change_me", "change-me", "placeholder", "example", "your_", "your-", "yourpass",
		"dummy", "redacted", "replace", "fixme", "todo", "sample", "password", "passwd", "secret", "xxxxx", "12345678"} {
		if strings.Contains(l, bad) {
			return false
		}
	}
	return true
}

func vgB64(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil
}

// vgB64UserPass accepts base64 of "user:password" with a plausible password.
func vgB64UserPass(s string) bool {
	b, ok := vgB64(s)
	if !ok {
		return false
	}
	_, pw, found := strings.Cut(string(b), ":")
	return found && len(pw) >= 3 && vgPlausible(pw)
}

// vgB64Plausible accepts base64 of a plausible password.
func vgB64Plausible(s string) bool {
	b, ok := vgB64(s)
	return ok && len(b) >= 3 && vgPlausible(string(b))
}

func vgJWTPart(s string, i int) (map[string]any, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[i], "="))
	if err != nil {
		return nil, false
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil, false
	}
	return m, true
}

// vgJWT checks that the header decodes to JSON naming an algorithm.
func vgJWT(s string) bool {
	h, ok := vgJWTPart(s, 0)
	if !ok {
		return false
	}
	alg, _ := h["alg"].(string)
	return alg != "" && !strings.EqualFold(alg, "none")
}

// vgK8sSAToken checks a JWT whose payload was issued for a Kubernetes
// service account (legacy secret-based tokens and bound tokens alike).
func vgK8sSAToken(s string) bool {
	if !vgJWT(s) {
		return false
	}
	p, ok := vgJWTPart(s, 1)
	if !ok {
		return false
	}
	if iss, _ := p["iss"].(string); iss == "kubernetes/serviceaccount" {
		return true
	}
	if _, ok := p["kubernetes.io"]; ok {
		return true
	}
	sub, _ := p["sub"].(string)
	return strings.HasPrefix(sub, "system:serviceaccount:")
}

func keyRules() []*Rule {
	pemRule := func(id, label, desc string, tags []string, ex string) *Rule {
		sev := vgCrit
		if strings.Contains(label, "ENCRYPTED") {
			sev = vgMed
		}
		return vgEnt(vgRule(id, desc, sev, tags, vgS("BEGIN "+label),
			`-----BEGIN `+label+`-----(?P<secret>[0-9A-Za-z+/=\s:,.\-]{64,}?)-----END `+label+`-----`,
			vgS(ex),
			vgS("-----BEGIN "+label+"-----\n...\n-----END "+label+"-----",
				"-----BEGIN "+label+"-----\n<your key here>\n-----END "+label+"-----",
				"-----BEGIN "+label+"-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END "+label+"-----")), 4.0)
	}
	uri := func(id, desc string, kws []string, scheme string, ex, non []string) *Rule {
		return vgEnt(vgVal(vgRule(id, desc, vgCrit, vgS("db", "connection-string"), kws,
			`(?i)(?:^|[^0-9A-Za-z+.\-])(?:`+scheme+`)://[^\s:/@"'<>]{0,64}:(?P<secret>[^\s:/@"'<>]{3,128})@[0-9A-Za-z_.\-\[\]]{1,253}`,
			ex, non), vgPlausible), 2.5)
	}
	uriNon := func(s string) []string {
		return vgS(s+"://app:${DB_PASSWORD}@db.internal:5432/app", s+"://user:password@localhost/app", s+"://db.internal/app")
	}
	return []*Rule{
		pemRule("private-key-rsa", "RSA PRIVATE KEY", "RSA private key (PKCS#1 PEM)", vgS("key", "private-key"),
			"-----BEGIN RSA PRIVATE KEY-----\nMIIEowGqdVZPw+/DJeXMuZsA5Gq83cPypiaVZhuiL+e8j4A05FnPoIWwjSC4yAGCIDvnOM\nTPC5To/DfI3QtG/BZ8bmQ3pD0X6FqSVROS5D9yVfAFHVDn6DB5X9v8OuCxj31Gig\nNetrBe5YPz0hHg+V40RbcoY084VCwE1L9zDdCgiIYih3Oj3P7yUA1Kq2f0Uds2tU\nkzc2mEOHlD1m179woEFPlNXBPru1Vh4h6A2MP92NayAaulH+TCQ3H1GQPe+RiMVp\n-----END RSA PRIVATE KEY-----"),
		pemRule("private-key-ec", "EC PRIVATE KEY", "EC private key (SEC 1 PEM)", vgS("key", "private-key"),
			"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIXu5Ao5rLUyAzoquY2aYCk56psJVY4qpWFGG1JI7BEy6p8llq2Ml0OfwEEiMYxlo/\nwrbmkgiMCtWV5GhRhxykXOe1Vodpk+e78a9jvVyRmaYcVZ+uFhw6he7ovXManX7D\n-----END EC PRIVATE KEY-----"),
		pemRule("private-key-dsa", "DSA PRIVATE KEY", "DSA private key (PEM)", vgS("key", "private-key"),
			"-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQWAi9YQDRwqTC7FxsJwjc0P3cV37el5uapXUtgPmfWVJVMJXVdVGAvE0BtOkrE4JU\nhF35GprOjd7CgJ+kohiT5j1ayEg1Q0cFFy8Tr9J7JOfUq/j9yyCC0/9lyqp9j1EE\nHL+vt+Z82wQuL+5fOHh/s32d+lGjPRBfCpiNzg8txHN+cKnN5FMeSuVgfpWAvkGA\n7HuU8vwXwlpCIExOoTEiKHwKw8kaLrOAQf79zmK2Zauq02OGYMuKnf+pZ9vbdG0s\nAjrLtmI4O7rBnYtmbKxZTuZh/qCRFytxeJsWGL0unktog+uKdyBvBlKQ5Q5hmdXl\n-----END DSA PRIVATE KEY-----"),
		pemRule("private-key-openssh", "OPENSSH PRIVATE KEY", "OpenSSH private key", vgS("key", "private-key", "ssh"),
			"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAi4C4HTfwNGIFF8fMvJZ6ozanZhu+OrDXeRNwHI4wiujCWyLq19MtZWGwP0fjnQvK\n3l1FUvXugwAEy9sjz1oaVoobEik4B6cxIURU3GNqrVR56JLH/tIF1P2NlpRlHF6w\ndZJfIq9hRFFW1pv+gwAjjqrumbsxZH9rYlrkwU3Wjjt/Z9tcBWtzWwu6HM3nTmST\nH2NdKJchtbeuFRsUOGOJPqxQDSuWjrzRS51ywkhpjUghaTMGPQiv1zLY1wdp9Vvj\nL7GMp9EE9pQmNvn4ALESU2XrtohRHwTcbVJcfcRnPPpZZFKysLAp9UjRaKrHOv/v\n-----END OPENSSH PRIVATE KEY-----"),
		pemRule("private-key-pkcs8", "PRIVATE KEY", "Private key (PKCS#8 PEM)", vgS("key", "private-key"),
			"const key = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCHKtRJxQ97+xDEIHHYSIu9V5meiMyOZnUwa0ek5ukQbfHj2Xind+x4B9yQ3mVSDTH\n2vCmAsCJ8W0o5kpJztuoep4SRXQThrH8VU05TxmVWC8+/FOMKUZVzmIVvX8/QSOs\nB8Ezvy1M+zvR9HxLNXtgLwk5y18TFmMln4FMHntL3O6gZ93kJA7elqGcFFiYipre\nzQ2FFhDoowOPhDXr0tLPwa8GoTlYJnaSwc4n2XI6c1FnkLOAg6iGK3gj7eYVyMHB\n-----END PRIVATE KEY-----`"),
		pemRule("private-key-pkcs8-encrypted", "ENCRYPTED PRIVATE KEY", "Encrypted private key (PKCS#8 PEM)", vgS("key", "private-key"),
			"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQ3v7u7SAi0CtBOB4o7nWp0VmCrO4hmxx7j6b0UTl/cbG8tk7/MZYK6tBcP7WIKrCo\nvKyYDuwL7Ybq/fuQOEXm81otPp2v5KgMAvWuvBk6u0uPIef7o6E6KEhwHMrWIAHj\niJSus9ufXFaubodGYQCF7ll9aPUdI3yoTWC35BRGOb4bOYZ6IaxGCKz4VGgnE8JJ\nblwFDjt48jXsmgUKfcZnBnjOac8h8kGOC5rqSxx5V5ORaEL5uLvnp1H78ho6jcEk\n-----END ENCRYPTED PRIVATE KEY-----"),
		pemRule("private-key-pgp", "PGP PRIVATE KEY BLOCK", "PGP private key block", vgS("key", "private-key", "pgp"),
			"-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: exported\n\nlQVYBGZDDtBpwQunhsHvj2cs//unEhCi/QZyWNlqvpIF7JU2tcSy+tsvN2UMkSVodXBFHcg\nRl4f2EDnvfugOxZRIik1QpUdrX6QvSvRMqKckT5pPa4LLBXEBKvk+YLPqJAN8WiQ\niL+5U++ju+ZSYvcp+giqhA4ILtdnh3fSBDlg2ls0NOvRh0skb5mZ+hFUXUBKxc7V\n9ldKVAp4oawQskzJzNDIJfZcu/Hj4OVjqjhDGpDrH4Jsm37ekceG9P5TTGuMWCFs\nfSxlkVPQkqWgdMOg0ZRCKZnGVZ++jSQR6jK3W1rakPLtA23wfkYMO919em2i4oJD\n=ZLEN\n-----END PGP PRIVATE KEY BLOCK-----"),
		vgEnt(vgRule("private-key-putty", "PuTTY private key file", vgCrit, vgS("key", "private-key", "ssh"), vgS("PuTTY-User-Key-File-"),
			`PuTTY-User-Key-File-[23]:[ \t]*[\w.@\-]{3,60}[\s\S]{0,1000}?Private-Lines:[ \t]*[0-9]{1,3}\r?\n(?P<secret>[0-9A-Za-z+/=\r\n]{64,1000})`,
			vgS("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy@ci\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIoMMgk9DT4fr+iCC3Z9riX/BcFldmM8xGxa+SzGxm1hw\nimSwFCL4mj1T7Ny64Azk\nPrivate-Lines: 1\nAAAAI9hNW/airhZzsv1MQKYQD8WiKBcAjWXIYujjx7gkufu8o8iUwqdddJ+QoOp1Fvxi0\nPrivate-MAC: b0bc6f1523c518676eceb6f29a968e0f0f7e8f35a4eb09e89e01d4df51ae65f2"),
			vgS("PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\n<private key>", "PuTTY-User-Key-File-2 is the old format")), 4.0),
		vgEnt(vgRule("pkcs12-base64", "Base64-encoded PKCS#12 keystore (.p12/.pfx)", vgHigh, vgS("key", "certificate"), vgS("p12", "pfx", "pkcs12"),
			`(?i)(?:p12|pfx|pkcs12)[\w.\-]{0,30}`+vgAssign+`(?P<secret>MII[0-9A-Za-z+/]{300,1000})`,
			vgS("SIGNING_CERT_P12_BASE64=MIIKSQIBAzCCCg8GCSqGSIb3DQEHAaCCCgAEggn86toDOWW4/eQnoH1qsCdGEItl00YQtj7u9cC2+rvbVKAV47ayATLtiTOuiSWahmyeWoOKMpryZicpfD/himY6zh0xcgXV65YvFs+gOoAcjMQDKdtFqnL44mKASvwwsCH5dCLpCl3q5SCjR+ks7iwf2llQTByujOuTjCWF9UJJNp0G/UnfNldJucHMGCHWEQsf1DsBvePb3mTg5fSPD08uZF/xDOCUJbo1AhmN/S6naAhIaqFrnHEn9HYQ3AbLEkW0x7KecwBn8QESnQZv26HQru3PZtUSu8UJNJqihNgkejFHyCrOjYDj8h+u87qgtN4ML59MkzJVcCQ2CuaQm8+2mru+F4NGTxOkdZ5f4xAveQSQqBIHyjJddmRmzD6FZXgjX84eaG83pg3QdjMQ=="),
			vgS("SIGNING_CERT_P12_BASE64=${{ secrets.P12 }}", "CERT_PFX=MIIK+Dh3m/9sqjFFnjV8y2MBDUn2xrzkf4C/6OLIAvWc", "cert.pem=MIIKRboaD6iAx5GTyJrnvcri+dKVnEvVx/VJK2TED7Q9L4wR8I1SdwzotSuCPdVFvJsJJwbFXCKhaFfw2nFn6hbt276NS1Q7iQqnCHfXDtdBfY2OWuvVBV7L+IY2m/Q3ECk65L1BrJWLe7/z3xNKIwI6Vx2GynGmMypnFezAdSVFVzCsre8G1z1IKwynUVGQzewwSNCVwyrWaRjJVk5+MmA7k+1T6Lmc2LKbrvJNG0wHAs5N935NbmM9UCNSdkon8/6uvixKo+hOzg97ihsZqOL4QkZl5brJIb4O8Q53cVSlMdJCBuo0RveaRvW0jJKUxCbVb1lMB8AreGa6obqiWhTOPi10629WVDyvq/plbn0oDxNeIe+owKA4+kHjs0SKN+jJPXI8WB9RBqUUEzQ9")), 4.5),
		vgVal(vgRule("jwt", "JSON Web Token", vgMed, vgS("token", "jwt"), vgS("eyJ"),
			`(?:^|[^0-9A-Za-z_.\-])(?P<secret>eyJ[0-9A-Za-z_\-]{10,1000}\.eyJ[0-9A-Za-z_\-]{10,1000}\.[0-9A-Za-z_\-]{16,1000})`+vgRd,
			vgS("Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzMTEyMDMxMzc0IiwibmFtZSI6IkRhbmEgRmlzY2hlciIsImlhdCI6MTcxNjIzOTAyMn0.XFkX4OdFVBJtsIDum7PEeoAW0f9WRoUBKlpwrk340s4"),
			vgS("token: eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiI0NTY3MjIyMjQ0IiwibmFtZSI6IkRhbmEgRmlzY2hlciIsImlhdCI6MTcxNjIzOTAyMn0.78xiw9icnkcuerWNLVFH0tUlrPuM4I-Px35FCTS7it0", "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", "eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.z2tpOEoe")), vgJWT),
		vgVal(vgRule("kubernetes-service-account-token", "Kubernetes service account token", vgCrit, vgS("kubernetes", "token"), vgS("eyJ"),
			`(?:^|[^0-9A-Za-z_.\-])(?P<secret>eyJ[0-9A-Za-z_\-]{10,1000}\.eyJ[0-9A-Za-z_\-]{10,1000}\.[0-9A-Za-z_\-]{16,1000})`+vgRd,
			vgS("token: eyJhbGciOiJSUzI1NiIsImtpZCI6ImJMT3BFVGQycjNBNzJjaTJPcVZiIn0.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwia3ViZXJuZXRlcy5pby9zZXJ2aWNlYWNjb3VudC9uYW1lc3BhY2UiOiJwcm9kIiwia3ViZXJuZXRlcy5pby9zZXJ2aWNlYWNjb3VudC9zZWNyZXQubmFtZSI6ImRlcGxveWVyLXRva2VuLW50NDBwIiwia3ViZXJuZXRlcy5pby9zZXJ2aWNlYWNjb3VudC9zZXJ2aWNlLWFjY291bnQubmFtZSI6ImRlcGxveWVyIiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OnByb2Q6ZGVwbG95ZXIifQ.jC6gobTWE4aAjhvxmPgFT8LniOjOTMptH5_5VqF4x5nvAY1zGmKCGKxRt0vhA3uzKx6t3a9HwFEgP2wvoZydOO4xojC1mLGZOjbaT9jzS3HLljRSfg5KAUaqKbHO6chnxbae7E83IRPXarYdg_2xlGIrwuQJ2HSecHgmMTO5koupRyTrzGdo01qb3wqSJ7HreIPOGghvLkvF1lV9p67YuAXYtddfNf6fLbNkfzIrd9DCaN1aywIy1moldN5l-hzAJMhAri5-Y-rTSMW7wziKHm6D2VuY09gFxv69StyPFz9JEqYmDrbPDS2ECeNez-3x52WK92OboV_3ikfnNWcCmQ"),
			vgS("token: eyJhbGciOiJSUzI1NiIsImtpZCI6Iko0Zzh2cVRnMFVCcmdCMDVTVENEIn0.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmV4YW1wbGUub3JnIiwic3ViIjoidXNlci03NTU0NDEifQ.0ygvUsO93USwoU70tHIdD58kil_x9llhjTiM5IpW2LhSCm5mo8oihurRxg0ae86eabQ4PJCkDmtuG66GBLKFQsDTeKH8sknwWmlyP3ou-S1AmQyH1IjtZeBCwet7LVBZh8w9ojU0n-B-tJHShtDMiCGLyGjulJfSBnaLNl4yEmUG2dG0CPshq62ZUTO3tje4Dgi3GK8NYqMt7h1OhppcDfcv8H-SVBs7bFUTA7xeOxMf0Lgl9chS1tusWDKb-aYvMcn-8puz0ugYVAYbr9L-7OYuwfpVkaVN8avcTUaC4XPmnyLxq8S4NGeUZAWlE2m4D6KH9Q0Tecj0j3qzZf1pUA", "token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyODI5ODA3NDExIiwibmFtZSI6IkRhbmEgRmlzY2hlciIsImlhdCI6MTcxNjIzOTAyMn0.1xfI2uqzFGED-owZGmrTf6z7n-gIxrevQO1-74jx0e0")), vgK8sSAToken),
		vgRule("kubeconfig-client-key", "Kubernetes kubeconfig client key", vgCrit, vgS("kubernetes", "key"), vgS("client-key-data"),
			`client-key-data:[ \t]*["']?(?P<secret>LS0tLS1CRUdJT[0-9A-Za-z+/]{100,1000})`,
			vgS("users:\n- name: admin\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJU\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQod8a/UK8QHXcz+aLiryWEHvjHdBZaGts2wDWi1tRsp6qPxOKGE/0zC/gmzehzTUJ3pWPhtXLf06BUfpUkmExDXf4uZbF4llnJqY8oDJhkILHU3p51eZ97TSadwCuRNDfPPn/YTq+P0xa5aYjXbhEk8NQ3LXWHyUSE7UjRui+UiI5UZhuz/Otj03TcLb79l+aYzACg0KZb"),
			vgS("    client-key-data: REDACTED", "    client-key-data: LS0tLS1CRUdJT")),
		vgEnt(vgVal(vgRule("kubeconfig-user-token", "Kubernetes kubeconfig user bearer token", vgHigh, vgS("kubernetes", "token"), vgS("user:"),
			`(?m)^[ \t-]*user:[ \t]*\r?\n(?:[ \t]+[\w\-]+:[^\r\n]{0,120}\r?\n){0,6}?[ \t]+token:[ \t]*["']?(?P<secret>[0-9A-Za-z_.~+/:=\-]{20,1000})`,
			vgS("users:\n- name: ci\n  user:\n    token: kubeconfig-u-lrzyywfibb94:wvclaqcwnpqjind8i2k29kxmzlws4tlwgn22868cvi89wulwdmz1wf"),
			vgS("users:\n- name: ci\n  user:\n    token: ${KUBE_TOKEN}", "users:\n- name: ci\n  user:\n    token: REPLACE_WITH_YOUR_TOKEN_VALUE")), vgPlausible), 3.5),
		vgVal(vgRule("docker-config-auth", "Docker config.json / .dockerconfigjson registry auth", vgHigh, vgS("registry", "docker", "kubernetes"), vgS(`"auth"`),
			`"auth"\s*:\s*"(?P<secret>[0-9A-Za-z+/]{8,1000}={0,2})"`,
			vgS(`{"auths":{"registry.example.com":{"auth":"ZGVwbG95OldxOCNwTDJ2IXhSNw=="}}}`),
			vgS(`{"auths":{"registry.example.com":{"auth":"ZGVwbG95Og=="}}}`, `{"auths":{"r.example.com":{"auth":"bm90LWEtcGFpcg=="}}}`)), vgB64UserPass),
		vgVal(vgRule("npmrc-auth", "npm _auth (base64 user:password) in .npmrc", vgHigh, vgS("registry", "npm"), vgS("_auth"),
			`(?m)^[ \t]*(?://[^\s=]{1,200}:)?_auth[ \t]*=[ \t]*["']?(?P<secret>[0-9A-Za-z+/]{8,1000}={0,2})`,
			vgS("registry=https://npm.example.com/\n_auth=Y2ktYm90Ok5mNyRrcTJMcDk="),
			vgS("_auth=${NPM_AUTH}", "_auth=bm9wYWly")), vgB64UserPass),
		vgEnt(vgVal(vgRule("npmrc-password", "npm _password in .npmrc", vgHigh, vgS("registry", "npm"), vgS("_password"),
			`(?m)^[ \t]*(?://[^\s=]{1,200}:)?_password[ \t]*=[ \t]*["']?(?P<secret>[0-9A-Za-z+/]{8,1000}={0,2})`,
			vgS("//npm.example.com/:username=ci\n//npm.example.com/:_password=VOn8E++YhlJ23lIUbTiP"),
			vgS("//npm.example.com/:_password=${NPM_PASS}", "//npm.example.com/:_password=cGFzc3dvcmQ=")), vgB64Plausible), 3.0),
		vgEnt(vgVal(vgRule("netrc-password", "Password in a .netrc file", vgHigh, vgS("key", "netrc"), vgS("machine"),
			`(?:^|\s)machine\s+[\w.\-]{1,253}\s+login\s+\S{1,100}\s+password\s+(?P<secret>\S{3,128})`,
			vgS("machine api.heroku.com\n  login ops@example.com\n  password ea9a0ca7-80db-5d8a"),
			vgS("machine example.com login me password changeme", "machine example.com login me password $NETRC_PASSWORD")), vgPlausible), 2.5),
		vgRule("htpasswd-bcrypt", "bcrypt password hash (htpasswd)", vgMed, vgS("hash", "htpasswd"), vgS("$2y$", "$2a$", "$2b$"),
			`(?m)^[\w.@\-]{1,64}:(?P<secret>\$2[aby]\$[0-9]{2}\$[./0-9A-Za-z]{53})`+vgR,
			vgS("admin:$2y$10$csQ5KcLEOCGAhUU/TtezmN9c1c2KT6BfwFplCYen53wAie4QNcM2t"),
			vgS("admin:$2y$10$short", "hash = $2y$10$z4KPIo5E.gVm3pxr2y.TpycwZcV7vUh1HmADMda8BnzeW66v6VspL")),
		vgRule("htpasswd-apr1", "Apache APR1-MD5 password hash (htpasswd)", vgMed, vgS("hash", "htpasswd"), vgS("$apr1$"),
			`(?m)^[\w.@\-]{1,64}:(?P<secret>\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22})`+vgR,
			vgS("admin:$apr1$0TPhOXp6$mEqQrIOwvb3NJEQ28QfzxY"),
			vgS("admin:$apr1$salt$", "x = $apr1$E9UAj1Mh$x.YfXN6odqhRtPDOtbKmh9")),
		vgEnt(vgVal(vgRule("jdbc-password", "Password in a JDBC URL", vgCrit, vgS("db", "connection-string"), vgS("jdbc:"),
			`(?i)jdbc:[a-z0-9]{2,20}:[^\s"'<>]{1,200}?[;&?]password=(?P<secret>[^\s;&"'<>]{3,128})`,
			vgS("spring.datasource.url=jdbc:sqlserver://db.internal:1433;databaseName=app;user=app;password=Vq7!rT2mzK"),
			vgS("jdbc:sqlserver://db:1433;user=app;password=${DB_PASS}", "jdbc:postgresql://db/app?user=app&password=password")), vgPlausible), 2.5),
		vgEnt(vgVal(vgRule("kafka-sasl-jaas-password", "Password in a Kafka SASL JAAS config", vgCrit, vgS("db", "kafka"), vgS("LoginModule"),
			`LoginModule\s+required[^;]{0,300}?password\s*=\s*\\?"(?P<secret>[^"\\\s]{3,128})\\?"`,
			vgS(`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="svc" password="Hk29$zpQ8v";`),
			vgS(`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="svc" password="${KAFKA_PASSWORD}";`, `PlainLoginModule required username="u" password="changeme";`)), vgPlausible), 2.5),
		uri("postgres-uri-password", "Password in a PostgreSQL connection URI", vgS("postgres"), `postgres(?:ql)?(?:\+[a-z0-9]{2,12})?`,
			vgS("DATABASE_URL=postgres://app:Zq8v2LmK4p@db.internal:5432/app"), uriNon("postgres")),
		uri("mysql-uri-password", "Password in a MySQL/MariaDB connection URI", vgS("mysql", "mariadb"), `(?:mysql|mariadb)(?:\+[a-z0-9]{2,12})?`,
			vgS("SQLALCHEMY_DATABASE_URI = 'mysql+pymysql://root:Rt7x!pQ2w@10.0.4.12:3306/shop'"), uriNon("mysql")),
		uri("mongodb-uri-password", "Password in a MongoDB connection URI", vgS("mongodb"), `mongodb(?:\+srv)?`,
			vgS("MONGO_URL=mongodb+srv://svc:Pv9kLq2xT7@cluster0.ab1cd.mongodb.net/prod?retryWrites=true"), uriNon("mongodb")),
		uri("redis-uri-password", "Password in a Redis connection URI", vgS("redis"), `rediss?`,
			vgS("REDIS_URL=rediss://:Hq72mXpL9v4t@cache.internal:6380/0"), uriNon("redis")),
		uri("amqp-uri-password", "Password in an AMQP (RabbitMQ) connection URI", vgS("amqp"), `amqps?`,
			vgS("BROKER_URL=amqp://worker:Ck4z9QwP2m@rabbit.internal:5672/vhost"), uriNon("amqp")),
		uri("mssql-uri-password", "Password in a SQL Server connection URI", vgS("mssql", "sqlserver"), `mssql|sqlserver`,
			vgS("DB=sqlserver://sa:Yt6#nVq3Lp@mssql.internal:1433?database=erp"), uriNon("sqlserver")),
		uri("clickhouse-uri-password", "Password in a ClickHouse connection URI", vgS("clickhouse"), `clickhouse(?:s)?`,
			vgS("CLICKHOUSE_DSN=clickhouse://default:Mw3k9ZxQ7r@ch.internal:9000/metrics"), uriNon("clickhouse")),
		uri("service-uri-password", "Password in an FTP/SMTP/LDAP/SFTP URI", vgS("ftp://", "ftps://", "sftp://", "smtp://", "smtps://", "ldap://", "ldaps://"), `s?ftps?|smtps?|ldaps?`,
			vgS("MAIL_URL=smtps://mailer:Jp8!vQz2Kt@smtp.example.net:465"), uriNon("smtp")),
	}
}

package secret

import (
	"encoding/base64"
	"regexp"
	"strings"

	"github.com/vigil-sec/vigil/internal/finding"
)

// Building blocks of the cloud rules' expressions. Every expression is
// compiled with (?m) so that ^ and $ mean the ends of a line in the window.
const (
	// cloudSep joins a context name to its value: `=`, `:`, `:=`, `=>`,
	// or white space, with optional quotes (env files, YAML, JSON, HCL, INI,
	// shell and source code).
	cloudSep = `["']?\s{0,5}(?:[:=]{1,2}>?|\s)\s{0,5}["']?`
	// Token ends: the character after a secret must not continue it.
	cloudEndAlnum = `(?:[^A-Za-z0-9]|$)`
	cloudEndB64   = `(?:[^A-Za-z0-9+/=]|$)`
	cloudEndTok   = `(?:[^A-Za-z0-9_\-]|$)`
	// Token starts, for secrets that begin with a non-word character.
	cloudStartTok = `(?:^|[^A-Za-z0-9_\-])`
	cloudUUID     = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
)

func cloudRe(expr string) *regexp.Regexp { return regexp.MustCompile(`(?m)` + expr) }

// cloudPlaceholderWords mark documentation values (AWS's
// AKIAIOSFODNN7EXAMPLE, "LTAIxxxxxxxxxxxx", "<your-key>").
var cloudPlaceholderWords = []string{
	"example", "sample", "dummy", "placeholder", "changeme", "your", "xxxx", "0000000",
}

// cloudReal reports whether s does not look like a documentation value.
func cloudReal(s string) bool {
	l := strings.ToLower(s)
	for _, w := range cloudPlaceholderWords {
		if strings.Contains(l, w) {
			return false
		}
	}
	return !strings.Contains(s, "${") && !strings.Contains(s, "{{") && !strings.Contains(s, "<")
}

// cloudB64 accepts standard base64 that decodes to exactly n bytes (Azure
// storage and Cosmos DB keys are 64 random bytes, shared access keys 32).
func cloudB64(n int) func(string) bool {
	return func(s string) bool {
		b, err := base64.StdEncoding.DecodeString(s)
		return err == nil && len(b) == n && cloudReal(s)
	}
}

// cloudFingerprint accepts an MD5 key fingerprint ("3f:9a:…") that is not
// a made-up pattern: at most a few of its bytes may repeat a digit ("aa").
func cloudFingerprint(s string) bool {
	same := 0
	for _, g := range strings.Split(s, ":") {
		if len(g) == 2 && g[0] == g[1] {
			same++
		}
	}
	return same < 6
}

// cloudRules detects credentials of cloud providers: access key pairs,
// API keys and tokens, and connection strings that carry keys.
func cloudRules() []*Rule {
	crit, high, med := finding.SeverityCritical, finding.SeverityHigh, finding.SeverityMedium
	return []*Rule{
		// ---- Alibaba Cloud -------------------------------------------------
		{
			ID:          "alibaba-access-key-id",
			Description: "Alibaba Cloud AccessKey ID",
			Severity:    med,
			Tags:        []string{"cloud", "alibaba", "key-id"},
			Keywords:    []string{"LTAI"},
			Regex:       cloudRe(`\b(LTAI[A-Za-z0-9]{12,20})\b`),
			Entropy:     3.5,
			Validate:    cloudReal,
			Examples: []string{
				`ALIBABA_CLOUD_ACCESS_KEY_ID=LTAISATkPwfcRLupzsm40WNN`,
				`"AccessKeyId": "LTAI4GbQ7xWmcR2pKd9vNz1e"`,
			},
			NonExamples: []string{
				`ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIxxxxxxxxxxxxxxxx`,
				`access_key_id = LTAI5tRk8p`,
				`blob: QmLTAISATkPwfcRLupzsm40WNNx7Ka9`,
			},
		},
		{
			ID:          "alibaba-access-key-secret",
			Description: "Alibaba Cloud AccessKey Secret next to its AccessKey ID",
			Severity:    crit,
			Tags:        []string{"cloud", "alibaba", "key"},
			Keywords:    []string{"secret"},
			Regex:       cloudRe(`(?i:secret)[\w.\-]{0,20}` + cloudSep + `([A-Za-z0-9]{30})` + cloudEndAlnum),
			Entropy:     3.5,
			Validate:    cloudReal,
			Pair:        "alibaba-access-key-id",
			PairLines:   5,
			Examples: []string{
				"ALIBABA_CLOUD_ACCESS_KEY_ID=LTAISATkPwfcRLupzsm40WNN\nALIBABA_CLOUD_ACCESS_KEY_SECRET=MheVfe7kuapshy6x9UioETSy3vYETw",
				"[default]\naccess_key_id = LTAISATkPwfcRLupzsm40WNN\naccess_key_secret = MheVfe7kuapshy6x9UioETSy3vYETw",
				`{"AccessKeyId": "LTAISATkPwfcRLupzsm40WNN", "AccessKeySecret": "MheVfe7kuapshy6x9UioETSy3vYETw"}`,
			},
			NonExamples: []string{
				// No AccessKey ID nearby.
				`ALIBABA_CLOUD_ACCESS_KEY_SECRET=MheVfe7kuapshy6x9UioETSy3vYETw`,
				"access_key_id = LTAISATkPwfcRLupzsm40WNN\naccess_key_secret = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				// 32 characters: a Tencent-sized secret, not Alibaba's 30.
				"access_key_id = LTAISATkPwfcRLupzsm40WNN\naccess_key_secret = MheVfe7kuapshy6x9UioETSy3vYETwQ7",
			},
		},
		{
			ID:          "alibaba-sts-access-key-id",
			Description: "Alibaba Cloud STS temporary AccessKey ID",
			Severity:    med,
			Tags:        []string{"cloud", "alibaba", "key-id", "sts"},
			Keywords:    []string{"STS."},
			Regex:       cloudRe(`\b(STS\.[A-Za-z0-9]{20,40})\b`),
			Entropy:     3.5,
			Validate:    cloudReal,
			Examples: []string{
				`"AccessKeyId": "STS.693vA0JMjhRGgH34HQgi7zFrj4oH"`,
			},
			NonExamples: []string{
				`"AccessKeyId": "STS.xxxxxxxxxxxxxxxxxxxxxxxxxxxx"`,
				`endpoint = sts.aliyuncs.com`,
				`AccessKeyId: STS.693vA0JMjhRG`,
			},
		},
		{
			ID:          "alibaba-sts-security-token",
			Description: "Alibaba Cloud STS SecurityToken",
			Severity:    high,
			Tags:        []string{"cloud", "alibaba", "token", "sts"},
			Keywords:    []string{"securitytoken", "security_token", "security-token"},
			Regex:       cloudRe(`(?i:security[_.\-]?token)[\w.\-]{0,10}` + cloudSep + `(CAIS[A-Za-z0-9+/]{100,1000})`),
			Entropy:     4.5,
			Validate:    cloudReal,
			Examples: []string{
				`"SecurityToken": "CAIStbpGMSxcNkn9D7fctCmUvUKBX7Sc/h340AxvFDuPIU9R6fSM27KKNQtnzWmvJNzGJX/I8xZNRw+OS9zLJFtw4l0TsVQyPqQSRhMEvUKA2afg42F2/+DphrxSwbTMk6pkrybN5fZyDwTmsF69OFEt0MSnOJjZGOcE2rqRF7Yo7Qe="`,
			},
			NonExamples: []string{
				`"SecurityToken": "CAISxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`,
				`"SecurityToken": "CAIStbpGMSxcNkn9D7fctCmUvUKBX7Sc"`,
			},
		},

		// ---- Tencent Cloud -------------------------------------------------
		{
			ID:          "tencent-secret-id",
			Description: "Tencent Cloud SecretId",
			Severity:    med,
			Tags:        []string{"cloud", "tencent", "key-id"},
			Keywords:    []string{"AKID"},
			Regex:       cloudRe(`\b(AKID[A-Za-z0-9]{32,36})\b`),
			Entropy:     3.5,
			Validate:    cloudReal,
			Examples: []string{
				`TENCENTCLOUD_SECRET_ID=AKIDhl9Pu3dFMjruV6gX7frwWprerHLwAtpB`,
			},
			NonExamples: []string{
				`TENCENTCLOUD_SECRET_ID=AKIDxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`secret_id = AKIDhl9Pu3dFMjru`,
				`TENCENTCLOUD_SECRET_ID=AKIDhl9Pu3dFMjruV6gX7frwWprerHLwAtpBq7Wz9K2m`,
			},
		},
		{
			ID:          "tencent-secret-key",
			Description: "Tencent Cloud SecretKey next to its SecretId",
			Severity:    crit,
			Tags:        []string{"cloud", "tencent", "key"},
			Keywords:    []string{"secret"},
			Regex:       cloudRe(`(?i:secret[_.\-]?key)[\w.\-]{0,10}` + cloudSep + `([A-Za-z0-9]{32})` + cloudEndAlnum),
			Entropy:     3.5,
			Validate:    cloudReal,
			Pair:        "tencent-secret-id",
			PairLines:   5,
			Examples: []string{
				"TENCENTCLOUD_SECRET_ID=AKIDhl9Pu3dFMjruV6gX7frwWprerHLwAtpB\nTENCENTCLOUD_SECRET_KEY=MdGzd9iiSJNohTdvyGxEwBodioyheL0R",
				`cred = credential.Credential("AKIDhl9Pu3dFMjruV6gX7frwWprerHLwAtpB", secretKey="MdGzd9iiSJNohTdvyGxEwBodioyheL0R")`,
			},
			NonExamples: []string{
				`TENCENTCLOUD_SECRET_KEY=MdGzd9iiSJNohTdvyGxEwBodioyheL0R`,
				"secret_id = AKIDhl9Pu3dFMjruV6gX7frwWprerHLwAtpB\nsecret_key = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				"secret_id = AKIDhl9Pu3dFMjruV6gX7frwWprerHLwAtpB\nsecret_key = MdGzd9iiSJNohTdvyGxEwBodio",
			},
		},

		// ---- Huawei Cloud --------------------------------------------------
		{
			ID:          "huawei-cloud-access-key",
			Description: "Huawei Cloud access key (AK)",
			Severity:    med,
			Tags:        []string{"cloud", "huawei", "key-id"},
			Keywords:    []string{"huawei", "hwcloud", "hw_access", "hw-access", "obs_access", "obs-access", "obs.access"},
			Regex: cloudRe(`(?:^|[^A-Za-z0-9])(?i:(?:huawei(?:cloud)?|hwcloud|hw|obs)[_.\-]?(?:[\w\-]{0,20}[_.\-])?(?:access[_.\-]?key(?:[_.\-]?id)?|ak))` +
				cloudSep + `([A-Z0-9]{20})` + cloudEndAlnum),
			Entropy:  3.2,
			Validate: cloudReal,
			Examples: []string{
				`HW_ACCESS_KEY=22Q53ZJTN9JUEXPR1FOL`,
				`huaweicloud_access_key: "22Q53ZJTN9JUEXPR1FOL"`,
			},
			NonExamples: []string{
				`HW_ACCESS_KEY=XXXXXXXXXXXXXXXXXXXX`,
				`HW_ACCESS_KEY=22q53zjtn9juexpr1fol`,
				`jobs_access_key = 22Q53ZJTN9JUEXPR1FOL`,
			},
		},
		{
			ID:          "huawei-cloud-secret-key",
			Description: "Huawei Cloud secret key (SK) next to its access key",
			Severity:    crit,
			Tags:        []string{"cloud", "huawei", "key"},
			Keywords:    []string{"huawei", "hwcloud", "hw_secret", "hw-secret", "obs_secret", "obs-secret", "obs.secret"},
			Regex: cloudRe(`(?:^|[^A-Za-z0-9])(?i:(?:huawei(?:cloud)?|hwcloud|hw|obs)[_.\-]?(?:[\w\-]{0,20}[_.\-])?(?:secret[_.\-]?(?:access[_.\-]?)?key|sk))` +
				cloudSep + `([A-Za-z0-9]{40})` + cloudEndAlnum),
			Entropy:   3.8,
			Validate:  cloudReal,
			Pair:      "huawei-cloud-access-key",
			PairLines: 5,
			Examples: []string{
				"HW_ACCESS_KEY=22Q53ZJTN9JUEXPR1FOL\nHW_SECRET_KEY=S4ZKOQzBw43KnicD3Ir8KDrnRLUGO4OJBLgLXwJe",
			},
			NonExamples: []string{
				`HW_SECRET_KEY=S4ZKOQzBw43KnicD3Ir8KDrnRLUGO4OJBLgLXwJe`,
				"HW_ACCESS_KEY=22Q53ZJTN9JUEXPR1FOL\nHW_SECRET_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				"HW_ACCESS_KEY=22Q53ZJTN9JUEXPR1FOL\nHW_SECRET_KEY=S4ZKOQzBw43KnicD3Ir8KDrnRLUGO4",
			},
		},

		// ---- Baidu AI Cloud ------------------------------------------------
		{
			ID:          "baidu-cloud-access-key-id",
			Description: "Baidu AI Cloud (BCE) access key ID",
			Severity:    med,
			Tags:        []string{"cloud", "baidu", "key-id"},
			Keywords:    []string{"ALTAK"},
			Regex:       cloudRe(`\b(ALTAK[A-Za-z0-9]{15,30})\b`),
			Entropy:     3.5,
			Validate:    cloudReal,
			Examples: []string{
				`BCE_ACCESS_KEY_ID=ALTAKWQyfxb4AAmGFuPVpYwpIm`,
			},
			NonExamples: []string{
				`BCE_ACCESS_KEY_ID=ALTAKxxxxxxxxxxxxxxxxxxxxx`,
				`BCE_ACCESS_KEY_ID=ALTAKWQyfxb4`,
			},
		},
		{
			ID:          "baidu-cloud-secret-access-key",
			Description: "Baidu AI Cloud (BCE) secret access key next to its access key ID",
			Severity:    crit,
			Tags:        []string{"cloud", "baidu", "key"},
			Keywords:    []string{"secret", "bce_sk", "baidu_sk"},
			Regex:       cloudRe(`(?i:secret|bce[_.\-]?sk|baidu[_.\-]?sk)[\w.\-]{0,20}` + cloudSep + `([A-Za-z0-9]{32})` + cloudEndAlnum),
			Entropy:     3.2,
			Validate:    cloudReal,
			Pair:        "baidu-cloud-access-key-id",
			PairLines:   5,
			Examples: []string{
				"BCE_ACCESS_KEY_ID=ALTAKWQyfxb4AAmGFuPVpYwpIm\nBCE_SECRET_ACCESS_KEY=4053c72033e04b38b1ee2677873941db",
			},
			NonExamples: []string{
				`BCE_SECRET_ACCESS_KEY=4053c72033e04b38b1ee2677873941db`,
				"BCE_ACCESS_KEY_ID=ALTAKWQyfxb4AAmGFuPVpYwpIm\nBCE_SECRET_ACCESS_KEY=your-secret-access-key-here0000",
			},
		},

		// ---- Volcengine (ByteDance) ----------------------------------------
		{
			ID:          "volcengine-access-key-id",
			Description: "Volcengine access key ID",
			Severity:    med,
			Tags:        []string{"cloud", "volcengine", "key-id"},
			Keywords:    []string{"AKLT"},
			Regex:       cloudRe(`\b(AKLT[A-Za-z0-9+/]{38,60})` + cloudEndB64),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`VOLC_ACCESSKEY=AKLTZTZlNTJiYzNiYmFiNTg0YjIxMzkxZDYyZDRkYmQ0NTQ`,
			},
			NonExamples: []string{
				`VOLC_ACCESSKEY=AKLTxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				// Kingsoft Cloud's shorter AKLT key.
				`KSYUN_ACCESS_KEY=AKLTdIelqYcL2hMwglL2423w`,
			},
		},
		{
			ID:          "volcengine-secret-access-key",
			Description: "Volcengine secret access key next to its access key ID",
			Severity:    crit,
			Tags:        []string{"cloud", "volcengine", "key"},
			Keywords:    []string{"secret"},
			Regex:       cloudRe(`(?i:secret)[\w.\-]{0,20}` + cloudSep + `([A-Za-z0-9+/]{50,88}={0,2})` + cloudEndB64),
			Entropy:     4.0,
			Validate:    cloudReal,
			Pair:        "volcengine-access-key-id",
			PairLines:   5,
			Examples: []string{
				"VOLC_ACCESSKEY=AKLTZTZlNTJiYzNiYmFiNTg0YjIxMzkxZDYyZDRkYmQ0NTQ\nVOLC_SECRETKEY=Yzc3ZTgxNDc4N2Q0ZTk0YWI5Y2I1ZjFlNDBkMzcwYzYyZTM1MTA1NGE3ZGU=",
			},
			NonExamples: []string{
				`VOLC_SECRETKEY=Yzc3ZTgxNDc4N2Q0ZTk0YWI5Y2I1ZjFlNDBkMzcwYzYyZTM1MTA1NGE3ZGU=`,
				"VOLC_ACCESSKEY=AKLTZTZlNTJiYzNiYmFiNTg0YjIxMzkxZDYyZDRkYmQ0NTQ\nVOLC_SECRETKEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			},
		},

		// ---- Kingsoft Cloud (Ksyun) ----------------------------------------
		{
			ID:          "ksyun-access-key-id",
			Description: "Kingsoft Cloud (Ksyun) access key ID",
			Severity:    med,
			Tags:        []string{"cloud", "ksyun", "kingsoft", "key-id"},
			Keywords:    []string{"AKLT"},
			Regex:       cloudRe(`\b(AKLT[A-Za-z0-9]{16,24})` + cloudEndB64),
			Entropy:     3.5,
			Validate:    cloudReal,
			Examples: []string{
				`KSYUN_ACCESS_KEY=AKLTdIelqYcL2hMwglL2423w`,
			},
			NonExamples: []string{
				`KSYUN_ACCESS_KEY=AKLTxxxxxxxxxxxxxxxxxxxx`,
				// Volcengine's longer AKLT key.
				`VOLC_ACCESSKEY=AKLTZTZlNTJiYzNiYmFiNTg0YjIxMzkxZDYyZDRkYmQ0NTQ`,
				`KSYUN_ACCESS_KEY=AKLTdIelqYc`,
			},
		},
		{
			ID:          "ksyun-secret-access-key",
			Description: "Kingsoft Cloud (Ksyun) secret access key next to its access key ID",
			Severity:    crit,
			Tags:        []string{"cloud", "ksyun", "kingsoft", "key"},
			Keywords:    []string{"secret"},
			Regex:       cloudRe(`(?i:secret)[\w.\-]{0,20}` + cloudSep + `([A-Za-z0-9+/]{32,48})` + cloudEndB64),
			Entropy:     3.8,
			Validate:    cloudReal,
			Pair:        "ksyun-access-key-id",
			PairLines:   5,
			Examples: []string{
				"KSYUN_ACCESS_KEY=AKLTdIelqYcL2hMwglL2423w\nKSYUN_SECRET_KEY=oeeMgprl4YG5g8wWQ5Y3fVz9JgX06uJscUkwUk3c",
			},
			NonExamples: []string{
				`KSYUN_SECRET_KEY=oeeMgprl4YG5g8wWQ5Y3fVz9JgX06uJscUkwUk3c`,
				"KSYUN_ACCESS_KEY=AKLTdIelqYcL2hMwglL2423w\nKSYUN_SECRET_KEY=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
			},
		},

		// ---- JD Cloud ------------------------------------------------------
		{
			ID:          "jdcloud-access-key-id",
			Description: "JD Cloud AccessKey ID",
			Severity:    med,
			Tags:        []string{"cloud", "jdcloud", "key-id"},
			Keywords:    []string{"JDC_"},
			Regex:       cloudRe(`\b(JDC_[0-9A-F]{28})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`JDC_ACCESS_KEY=JDC_57FB298610456D5896B6228F9271`,
			},
			NonExamples: []string{
				`JDC_ACCESS_KEY=JDC_XXXXXXXXXXXXXXXXXXXXXXXXXXXX`,
				`JDC_ACCESS_KEY=JDC_57fb298610456d5896b6228f9271`,
				`JDC_ACCESS_KEY=JDC_57FB298610456D5896B6`,
			},
		},
		{
			ID:          "jdcloud-secret-access-key",
			Description: "JD Cloud AccessKey Secret next to its AccessKey ID",
			Severity:    crit,
			Tags:        []string{"cloud", "jdcloud", "key"},
			Keywords:    []string{"secret"},
			Regex:       cloudRe(`(?i:secret)[\w.\-]{0,20}` + cloudSep + `([A-Za-z0-9]{32})` + cloudEndAlnum),
			Entropy:     3.5,
			Validate:    cloudReal,
			Pair:        "jdcloud-access-key-id",
			PairLines:   5,
			Examples: []string{
				"JDC_ACCESS_KEY=JDC_57FB298610456D5896B6228F9271\nJDC_SECRET_KEY=xftrqByskcj27WLbPHEIJvCcvo9HvLRr",
			},
			NonExamples: []string{
				`JDC_SECRET_KEY=xftrqByskcj27WLbPHEIJvCcvo9HvLRr`,
				"JDC_ACCESS_KEY=JDC_57FB298610456D5896B6228F9271\nJDC_SECRET_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			},
		},

		// ---- UCloud --------------------------------------------------------
		{
			ID:          "ucloud-public-key",
			Description: "UCloud API public key",
			Severity:    med,
			Tags:        []string{"cloud", "ucloud", "key-id"},
			Keywords:    []string{"ucloud"},
			Regex:       cloudRe(`(?i:ucloud[\w.\-]{0,20}public[_.\-]?key)` + cloudSep + `([A-Za-z0-9+/=_\-]{30,64})` + cloudEndB64),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`UCLOUD_PUBLIC_KEY=U7PvsdPAfGKr8MI6NJfsP5abls1xLBcWhBtqKPJQ`,
			},
			NonExamples: []string{
				`UCLOUD_PUBLIC_KEY=your-ucloud-public-key-goes-here`,
				`UCLOUD_PUBLIC_KEY=U7PvsdPAfGKr`,
			},
		},
		{
			ID:          "ucloud-private-key",
			Description: "UCloud API private key next to its public key",
			Severity:    crit,
			Tags:        []string{"cloud", "ucloud", "key"},
			Keywords:    []string{"ucloud", "private_key", "privatekey"},
			Regex:       cloudRe(`(?i:private[_.\-]?key)` + cloudSep + `([A-Za-z0-9+/=_\-]{30,64})` + cloudEndB64),
			Entropy:     3.8,
			Validate:    cloudReal,
			Pair:        "ucloud-public-key",
			PairLines:   5,
			Examples: []string{
				"UCLOUD_PUBLIC_KEY=U7PvsdPAfGKr8MI6NJfsP5abls1xLBcWhBtqKPJQ\nUCLOUD_PRIVATE_KEY=zpXDnnEBoJuFGBX5KCrfVKvfMXkBLcOp0JYmtkkX",
			},
			NonExamples: []string{
				`UCLOUD_PRIVATE_KEY=zpXDnnEBoJuFGBX5KCrfVKvfMXkBLcOp0JYmtkkX`,
				"UCLOUD_PUBLIC_KEY=U7PvsdPAfGKr8MI6NJfsP5abls1xLBcWhBtqKPJQ\nUCLOUD_PRIVATE_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			},
		},

		// ---- Qiniu ---------------------------------------------------------
		{
			ID:          "qiniu-access-key",
			Description: "Qiniu Cloud access key",
			Severity:    med,
			Tags:        []string{"cloud", "qiniu", "key-id"},
			Keywords:    []string{"qiniu"},
			Regex:       cloudRe(`(?i:qiniu[\w.\-]{0,20}(?:access[_.\-]?key|ak))` + cloudSep + `([A-Za-z0-9_\-]{40})` + cloudEndTok),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`QINIU_ACCESS_KEY=1Co28AWmwFNQ3IyMxyU6ZEtoZ1eWdjjQzpCBL_97`,
			},
			NonExamples: []string{
				`QINIU_ACCESS_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`QINIU_ACCESS_KEY=1Co28AWmwFNQ3IyMxyU6ZEtoZ1eWdjjQzpCBL_97Kq`,
				`ACCESS_KEY=1Co28AWmwFNQ3IyMxyU6ZEtoZ1eWdjjQzpCBL_97`,
			},
		},
		{
			ID:          "qiniu-secret-key",
			Description: "Qiniu Cloud secret key next to its access key",
			Severity:    crit,
			Tags:        []string{"cloud", "qiniu", "key"},
			Keywords:    []string{"qiniu"},
			Regex:       cloudRe(`(?i:qiniu[\w.\-]{0,20}(?:secret[_.\-]?key|sk))` + cloudSep + `([A-Za-z0-9_\-]{40})` + cloudEndTok),
			Entropy:     3.8,
			Validate:    cloudReal,
			Pair:        "qiniu-access-key",
			PairLines:   5,
			Examples: []string{
				"QINIU_ACCESS_KEY=1Co28AWmwFNQ3IyMxyU6ZEtoZ1eWdjjQzpCBL_97\nQINIU_SECRET_KEY=9KZn-cHXYWUyfqoyLpKz9j1dynAYvN-Mo0nr7YzW",
			},
			NonExamples: []string{
				`QINIU_SECRET_KEY=9KZn-cHXYWUyfqoyLpKz9j1dynAYvN-Mo0nr7YzW`,
				"QINIU_ACCESS_KEY=1Co28AWmwFNQ3IyMxyU6ZEtoZ1eWdjjQzpCBL_97\nQINIU_SECRET_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			},
		},

		// ---- QingCloud -----------------------------------------------------
		{
			ID:          "qingcloud-access-key-id",
			Description: "QingCloud access key ID",
			Severity:    med,
			Tags:        []string{"cloud", "qingcloud", "key-id"},
			Keywords:    []string{"qy_access", "qingcloud"},
			Regex:       cloudRe(`(?i:(?:qy|qingcloud)[_.\-]?access[_.\-]?key[_.\-]?id)` + cloudSep + `([A-Z]{20})` + cloudEndAlnum),
			Entropy:     3.5,
			Validate:    cloudReal,
			Examples: []string{
				`qy_access_key_id: 'LZOWXTOHRUQLLNFJQMCG'`,
			},
			NonExamples: []string{
				`qy_access_key_id: 'QYACCESSKEYIDEXAMPLE'`,
				`qy_access_key_id: 'LZOWXTOHRU'`,
			},
		},
		{
			ID:          "qingcloud-secret-access-key",
			Description: "QingCloud secret access key next to its access key ID",
			Severity:    crit,
			Tags:        []string{"cloud", "qingcloud", "key"},
			Keywords:    []string{"qy_secret", "qingcloud"},
			Regex:       cloudRe(`(?i:(?:qy|qingcloud)[_.\-]?secret[_.\-]?access[_.\-]?key)` + cloudSep + `([A-Za-z0-9]{40})` + cloudEndAlnum),
			Entropy:     3.8,
			Validate:    cloudReal,
			Pair:        "qingcloud-access-key-id",
			PairLines:   5,
			Examples: []string{
				"qy_access_key_id: 'LZOWXTOHRUQLLNFJQMCG'\nqy_secret_access_key: 'rU1qYJ4N6UwxerQoTJBuNZUio1E8BFp80WDTK2DA'",
			},
			NonExamples: []string{
				`qy_secret_access_key: 'rU1qYJ4N6UwxerQoTJBuNZUio1E8BFp80WDTK2DA'`,
				"qy_access_key_id: 'LZOWXTOHRUQLLNFJQMCG'\nqy_secret_access_key: 'SECRETACCESSKEYEXAMPLE00000000000000000'",
			},
		},

		// ---- Amazon Web Services -------------------------------------------
		{
			ID:          "aws-access-key-id",
			Description: "AWS access key ID",
			Severity:    med,
			Tags:        []string{"cloud", "aws", "key-id"},
			Keywords:    []string{"AKIA", "ASIA", "ABIA", "ACCA"},
			Regex:       cloudRe(`\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`AWS_ACCESS_KEY_ID=AKIABJI57HB3P5ANKLTH`,
				`aws_access_key_id = ASIAMWB4T4LMGCSS63XC`,
			},
			NonExamples: []string{
				`AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE`,
				`AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX`,
				// 0, 1, 8 and 9 are not base32.
				`AWS_ACCESS_KEY_ID=AKIABJI57HB3P5ANK1T0`,
				`id=QAKIABJI57HB3P5ANKLTH7`,
			},
		},
		{
			ID:          "aws-secret-access-key",
			Description: "AWS secret access key next to its access key ID (env, code, ~/.aws/credentials)",
			Severity:    crit,
			Tags:        []string{"cloud", "aws", "key"},
			Keywords:    []string{"secret_access_key", "secretaccesskey", "secret-access-key", "secret_key", "secretkey", "secret-key", "aws_secret", "awssecret", "aws-secret"},
			Regex:       cloudRe(`(?i:secret[_.\-]?(?:access[_.\-]?)?key|aws[_.\-]?secret)[\w.\-]{0,10}` + cloudSep + `([A-Za-z0-9/+]{40})` + cloudEndB64),
			Entropy:     4.0,
			Validate:    cloudReal,
			Pair:        "aws-access-key-id",
			PairLines:   5,
			Examples: []string{
				"[default]\naws_access_key_id = AKIABJI57HB3P5ANKLTH\naws_secret_access_key = wUtOH+TctmvfP849bpII3k16ATZJs7L2o7lYGEmn",
				`{"AccessKeyId": "ASIAMWB4T4LMGCSS63XC", "SecretAccessKey": "wUtOH+TctmvfP849bpII3k16ATZJs7L2o7lYGEmn"}`,
				"provider \"aws\" {\n  region     = \"eu-west-1\"\n  access_key = \"AKIABJI57HB3P5ANKLTH\"\n  secret_key = \"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\"\n}",
			},
			NonExamples: []string{
				"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				// No access key ID nearby.
				`aws_secret_access_key = wUtOH+TctmvfP849bpII3k16ATZJs7L2o7lYGEmn`,
				"aws_access_key_id = AKIABJI57HB3P5ANKLTH\naws_secret_access_key = wUtOH+TctmvfP849bpII3k16ATZJs7L2o7lYGEmnQ9",
			},
		},
		{
			ID:          "aws-session-token",
			Description: "AWS temporary session token",
			Severity:    high,
			Tags:        []string{"cloud", "aws", "token", "sts"},
			Keywords:    []string{"session_token", "sessiontoken", "session-token", "x-amz-security-token"},
			Regex:       cloudRe(`(?i:aws[_.\-]?session[_.\-]?token|sessiontoken|x-amz-security-token)[\w.\-]{0,10}` + cloudSep + `([A-Za-z0-9/+]{100,1000})`),
			Entropy:     4.5,
			Validate:    cloudReal,
			Examples: []string{
				`aws_session_token = IQoJb3JpZ2luX2VjEtbpGMSxcNkn9D7fctCmUvUKBX7Sc/h340AxvFDuPIU9R6fSM27KKNQtnzWmvJNzGJX/I8xZNRw+OS9zLJFtw4l0TsVQyPqQSRhMEvUKA2afg42F2/+DphrxSwbTMk6pkrybN5fZyDwTmsF69OFEt0MSnOJjZGOcE2rqRF7Yo7QeZ10RmiUXjMG4PnF07CMBH0x4vWpjJvuIDaRo2u7HB2Np5ubul7ajGrWcbouCYSsfE/yFVpUwjInW0EQ+Hrp4R49oTGznzlPTxXp/jaE3xzgJgh7yITwQ/Vuoqr6Wo5qHP9Q+swAsOia8XDrH1yDyHZfNFYaV495YmyqZoNOalrXDDMScwaj23JCzwW+4sXWssSDRcGnHSRM7/JTqLRonHj32wr/ueu5WmGdgx`,
			},
			NonExamples: []string{
				`aws_session_token = IQoJb3JpZ2luX2VjEtbpGMSxcNkn9D7fctCmUvUK`,
				`AWS_SESSION_TOKEN=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX`,
			},
		},
		{
			ID:          "aws-mws-auth-token",
			Description: "Amazon Marketplace Web Service (MWS) auth token",
			Severity:    high,
			Tags:        []string{"cloud", "aws", "token", "mws"},
			Keywords:    []string{"amzn.mws."},
			Regex:       cloudRe(`\b(amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`MWS_AUTH_TOKEN=amzn.mws.d1c6cf28-098e-4135-bc6e-45e00e70a764`,
			},
			NonExamples: []string{
				`MWS_AUTH_TOKEN=amzn.mws.00000000-0000-0000-0000-000000000000`,
				`MWS_AUTH_TOKEN=amzn.mws.d1c6cf28-098e-4135-bc6e`,
			},
		},
		{
			ID:          "aws-appsync-api-key",
			Description: "AWS AppSync GraphQL API key",
			Severity:    high,
			Tags:        []string{"cloud", "aws", "key", "appsync"},
			Keywords:    []string{"da2-"},
			Regex:       cloudRe(`\b(da2-[a-z0-9]{26})\b`),
			Entropy:     3.5,
			Validate:    cloudReal,
			Examples: []string{
				`"aws_appsync_apiKey": "da2-kri553lwvfov5mv7cetujj8541"`,
			},
			NonExamples: []string{
				`"aws_appsync_apiKey": "da2-xxxxxxxxxxxxxxxxxxxxxxxxxx"`,
				`"aws_appsync_apiKey": "da2-kri553lwvfov5mv7"`,
				`"aws_appsync_apiKey": "da2-KRI553LWVFOV5MV7CETUJJ8541"`,
			},
		},

		// ---- Google Cloud --------------------------------------------------
		{
			ID:          "gcp-service-account-key",
			Description: "Google Cloud service account key (JSON with a private key)",
			Severity:    crit,
			Tags:        []string{"cloud", "gcp", "key", "private-key"},
			Keywords:    []string{"service_account", "private_key_id"},
			Regex:       cloudRe(`"private_key"\s{0,5}:\s{0,5}"(-----BEGIN (?:RSA )?PRIVATE KEY-----\\n[A-Za-z0-9+/=\\]{100,}?\\n-----END (?:RSA )?PRIVATE KEY-----)`),
			Entropy:     4.5,
			Validate:    cloudReal,
			Examples: []string{
				`{"type": "service_account", "project_id": "billing-prod-4821", "private_key_id": "4f1c2b6a9e0d3f7a8b5c1e2d9f4a6b3c7e8d0a1f", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCk4qjg+6nPXAeMh8C71Tl+TgIzVevz9jWUg5Mi9NpCm5q0qj5z4isR6whn2LJYagqyqM9eAvkBuQz8cVK\nh2tlr9J8DZlK3Br46jUEJmrJDXT3xpC8x9yfALca+9A2/bOGumo1wVwO89w0hjKgtNRtk0dacPNKJy47M9TFMBj1oC9qrjhhO3vm+tohqL63ibk\neKLpdrzUiMCdQSH/z6edOSwSha8rDc+Bvr69sXPmiG+kPx2bkgtxIlYiy1ljLbwHrwLaOkfUfGbrkxfNLkGhKEm/6ML4onyEGgxiNkhxG50XuTsm0xZYd3M+lSLNMs/C\n-----END PRIVATE KEY-----\n", "client_email": "deployer@billing-prod-4821.iam.gserviceaccount.com"}`,
				"{\n  \"type\": \"service_account\",\n  \"project_id\": \"billing-prod-4821\",\n  \"private_key_id\": \"4f1c2b6a9e0d3f7a8b5c1e2d9f4a6b3c7e8d0a1f\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCk4qjg+6nPXAeMh8C71Tl+TgIzVevz9jWUg5Mi9NpCm5q0qj5z4isR6whn2LJYagqyqM9eAvkBuQz8cVK\\nh2tlr9J8DZlK3Br46jUEJmrJDXT3xpC8x9yfALca+9A2/bOGumo1wVwO89w0hjKgtNRtk0dacPNKJy47M9TFMBj1oC9qrjhhO3vm+tohqL63ibk\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"deployer@billing-prod-4821.iam.gserviceaccount.com\"\n}",
			},
			NonExamples: []string{
				`{"type": "service_account", "project_id": "billing-prod-4821", "private_key": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"}`,
				`{"type": "service_account", "private_key_id": "4f1c2b6a9e0d3f7a8b5c1e2d9f4a6b3c7e8d0a1f", "private_key": "-----BEGIN PRIVATE KEY-----\nXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n-----END PRIVATE KEY-----\n"}`,
			},
		},
		{
			ID:          "gcp-api-key",
			Description: "Google Cloud API key",
			Severity:    high,
			Tags:        []string{"cloud", "gcp", "key"},
			Keywords:    []string{"AIza"},
			Regex:       cloudRe(cloudStartTok + `(AIza[A-Za-z0-9_\-]{35})` + cloudEndTok),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`GOOGLE_API_KEY=AIzawkc4S1qhZ7HNXzA97VwaULxCB_E54GO3I4J`,
				`fetch("https://maps.googleapis.com/maps/api/geocode/json?key=AIzawkc4S1qhZ7HNXzA97VwaULxCB_E54GO3I4J")`,
			},
			NonExamples: []string{
				`GOOGLE_API_KEY=AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX`,
				`GOOGLE_API_KEY=AIzawkc4S1qhZ7HNXzA97VwaULx`,
				`GOOGLE_API_KEY=AIzawkc4S1qhZ7HNXzA97VwaULxCB_E54GO3I4J9w`,
			},
		},
		{
			ID:          "gcp-oauth-client-secret",
			Description: "Google OAuth client secret",
			Severity:    high,
			Tags:        []string{"cloud", "gcp", "oauth"},
			Keywords:    []string{"GOCSPX-"},
			Regex:       cloudRe(cloudStartTok + `(GOCSPX-[A-Za-z0-9_\-]{28})` + cloudEndTok),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`"client_secret": "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"`,
			},
			NonExamples: []string{
				`"client_secret": "GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx"`,
				`"client_secret": "GOCSPX-m8GIKcIVKavILhhm"`,
				`"client_secret": "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QQ2"`,
			},
		},
		{
			ID:          "gcp-fcm-server-key",
			Description: "Firebase Cloud Messaging legacy server key",
			Severity:    high,
			Tags:        []string{"cloud", "gcp", "firebase", "key"},
			Keywords:    []string{"APA91b"},
			Regex:       cloudRe(cloudStartTok + `(AAAA[A-Za-z0-9_\-]{7}:APA91b[A-Za-z0-9_\-]{120,160})` + cloudEndTok),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`Authorization: key=AAAACcH3v5S:APA91bBjnrU8LSuG1LzOiyZBJgMDp8SC0i9-heA4wtz2sdCK6mBE3rIX5droysjh4JVPjbFeSBOMNk41MrSJoK22HERVe1aIPbQorA4334e6KINvBuMg_A2tPyTzPA_MuyhpAqbGQlS9`,
			},
			NonExamples: []string{
				`Authorization: key=AAAAxxxxxxx:APA91bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				// A device registration token, not a server key.
				`token=cH3v5S:APA91bBjnrU8LSuG1LzOiyZBJgMDp8SC0i9-heA4wtz2sdCK6mBE3rIX5droysjh4JVPjbFeSBOMNk41MrSJoK22HERVe1aIPbQorA4334e6KINvBuMg_A2tPyTzPA_MuyhpAqbGQlS9`,
			},
		},
		{
			ID:          "gcp-oauth-access-token",
			Description: "Google OAuth 2.0 access token",
			Severity:    high,
			Tags:        []string{"cloud", "gcp", "token", "oauth"},
			Keywords:    []string{"ya29."},
			Regex:       cloudRe(`(?:^|[^A-Za-z0-9_\-.])(ya29\.[A-Za-z0-9_\-]{30,1000})`),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`Authorization: Bearer ya29.MQ7VA6ANw7D3N6aZgY_akLXnhB_THWQb1QASS2hC5aGM5PFeb-3eEGCDG_WtCxn-nHBiSKs96EW95HJjKI8KfGGzBjD5VXqckr7fmZvl52-mQUrfMOA2xDCevSqOVuhScw2fjKJo9yYX9uxhY0ODWO`,
			},
			NonExamples: []string{
				`Authorization: Bearer ya29.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`Authorization: Bearer ya29.MQ7VA6ANw7D3N6`,
			},
		},

		{
			ID:          "gcp-oauth-refresh-token",
			Description: "Google OAuth 2.0 refresh token",
			Severity:    high,
			Tags:        []string{"cloud", "gcp", "token", "oauth"},
			Keywords:    []string{"1//0"},
			Regex:       cloudRe(`(?:^|[^A-Za-z0-9_\-/])(1//0[A-Za-z0-9_\-]{40,400})` + cloudEndTok),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`"refresh_token": "1//0gQx7Kd2LmN9pRt4VwZ8yB3cF6hJ1kS5uE0iO-aXqW7eT2rY9uI4oP3sD8fG6hJ5kL1zX0cV7bN2mQ"`,
			},
			NonExamples: []string{
				`"refresh_token": "1//0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`,
				`"refresh_token": "1//0gQx7Kd2LmN9pRt4"`,
				`see https://example.org/1//0gQx7Kd2LmN9pRt4VwZ8yB3cF6hJ1kS5uE0iO-aXqW7eT2rY9`,
			},
		},

		// ---- Microsoft Azure -----------------------------------------------
		{
			ID:          "azure-storage-account-key",
			Description: "Azure Storage account key",
			Severity:    crit,
			Tags:        []string{"cloud", "azure", "key", "storage"},
			Keywords:    []string{"accountkey", "account_key", "account-key", "storage_key", "storagekey", "storage-key"},
			Regex: cloudRe(`(?:^|[^;\w])[\w.\-]{0,30}(?i:account[_.\-]?key|storage[_.\-]?(?:access[_.\-]?)?key)` + cloudSep +
				`([A-Za-z0-9+/]{86}==)` + cloudEndB64),
			Entropy:  5.0,
			Validate: cloudB64(64),
			Examples: []string{
				`AZURE_STORAGE_KEY=L71sGPWapag3KuTfz4MTDPVdMexRE4s18yZP4LlAPYqpP+jzdbWRqmyiNYNJ9ka400iBCuJ4FRk45oasjMuX+A==`,
				`  accountKey: "YCq42SC4rSe48+7CZTw9C7tymbNXuStu6stP+xAI+06+ulZeMRd96EPGobkdtf50uQ4OhNAtvCzl7kuSrB33rw=="`,
			},
			NonExamples: []string{
				// The connection-string rule reports this one.
				`DefaultEndpointsProtocol=https;AccountName=billingprod;AccountKey=L71sGPWapag3KuTfz4MTDPVdMexRE4s18yZP4LlAPYqpP+jzdbWRqmyiNYNJ9ka400iBCuJ4FRk45oasjMuX+A==;EndpointSuffix=core.windows.net`,
				`AZURE_STORAGE_KEY=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX==`,
				`AZURE_STORAGE_KEY=L71sGPWapag3KuTfz4MTDPVdMexRE4s18yZP4LlAPYqpP+jzdbWRqmyiNYNJ9ka400iBCuJ4==`,
			},
		},
		{
			ID:          "azure-storage-connection-string",
			Description: "Azure Storage connection string with an account key",
			Severity:    crit,
			Tags:        []string{"cloud", "azure", "key", "storage", "connection-string"},
			Keywords:    []string{"DefaultEndpointsProtocol"},
			Regex: cloudRe(`(?i:DefaultEndpointsProtocol=https?;)(?:[A-Za-z]{3,30}=[^;\s"']{1,100};){1,6}?AccountKey=` +
				`([A-Za-z0-9+/]{86}==)` + cloudEndB64),
			Entropy:  5.0,
			Validate: cloudB64(64),
			Examples: []string{
				`AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=billingprod;AccountKey=Bbs58b8EVCL6VbIqAD0maBIShndytxVSoa/aPyor7MskXNiyvkb3hasASD51IYb+bdn86KbF4lOSz5Ai4JkW3A==;EndpointSuffix=core.windows.net"`,
			},
			NonExamples: []string{
				// The well-known Azurite development key is public.
				`DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=<account-key>;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`,
				`DefaultEndpointsProtocol=https;AccountName=billingprod;AccountKey=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX==`,
				`DefaultEndpointsProtocol=https;AccountName=billingprod;EndpointSuffix=core.windows.net`,
			},
		},
		{
			ID:          "azure-sas-token",
			Description: "Azure shared access signature (SAS) token",
			Severity:    high,
			Tags:        []string{"cloud", "azure", "token", "sas"},
			Keywords:    []string{"sig="},
			Regex:       cloudRe(`\bsv=\d{4}-\d{2}-\d{2}&(?:[a-z]{2,5}=[^&\s"'<>]{0,60}&){0,12}sig=(?P<secret>[A-Za-z0-9%+/]{40,100}={0,2})` + cloudEndB64),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`https://billingprod.blob.core.windows.net/exports?sp=racwdl&st=2025-03-01T09:00:00Z&se=2026-03-01T17:00:00Z&spr=https&sv=2022-11-02&sr=c&sig=d4TtS8j6hym29%2BwhC4u3%2BquNgtOkn2X7CYviZlJZ4Ms%3D`,
				`AZURE_SAS="?sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2026-01-01T00:00:00Z&st=2025-01-01T00:00:00Z&spr=https&sig=o7e+yyjmVaiPO8qlNS0RNxH4le7dBSJUW4hmvmF2WfE="`,
			},
			NonExamples: []string{
				`https://billingprod.blob.core.windows.net/exports?sv=2022-11-02&sr=c&sig=<signature>`,
				`https://billingprod.blob.core.windows.net/exports?sv=2022-11-02&sr=c&sig=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX`,
				`?sig=d4TtS8j6hym29%2BwhC4u3%2BquNgtOkn2X7CYviZlJZ4Ms%3D`,
			},
		},
		{
			ID:          "azure-ad-client-secret",
			Description: "Microsoft Entra ID (Azure AD) application client secret",
			Severity:    crit,
			Tags:        []string{"cloud", "azure", "key", "oauth"},
			Keywords:    []string{"7Q~", "8Q~", "client_secret", "clientsecret", "client-secret"},
			Regex:       cloudRe(`(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)`),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`AZURE_CLIENT_SECRET=Q1E8Q~bwzo0Q_GHR8F8jT87XXNQdV-ACc0Xr.ypa`,
				`"clientSecret": "x.W7Q~p3LvH2-qRk9sDtY0mZc4NfJ8bG6aUe1wPo"`,
			},
			NonExamples: []string{
				`AZURE_CLIENT_SECRET=abc8Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`AZURE_CLIENT_SECRET=Q1E8Q~bwzo0Q_GHR8F8jT87`,
				`AZURE_CLIENT_SECRET=Q1EAQ~bwzo0Q_GHR8F8jT87XXNQdV-ACc0Xr.ypa`,
			},
		},
		{
			ID:          "azure-cosmosdb-key",
			Description: "Azure Cosmos DB account key in a connection string",
			Severity:    crit,
			Tags:        []string{"cloud", "azure", "key", "cosmosdb", "connection-string"},
			Keywords:    []string{"documents.azure.com"},
			Regex:       cloudRe(`(?i:AccountEndpoint=https://[a-z0-9\-]{3,50}\.documents\.azure\.com(?::443)?/?;AccountKey=)([A-Za-z0-9+/]{86}==)` + cloudEndB64),
			Entropy:     5.0,
			Validate:    cloudB64(64),
			Examples: []string{
				`COSMOS_CONNECTION=AccountEndpoint=https://orders-prod.documents.azure.com:443/;AccountKey=YCq42SC4rSe48+7CZTw9C7tymbNXuStu6stP+xAI+06+ulZeMRd96EPGobkdtf50uQ4OhNAtvCzl7kuSrB33rw==;`,
			},
			NonExamples: []string{
				`COSMOS_CONNECTION=AccountEndpoint=https://orders-prod.documents.azure.com:443/;AccountKey=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX==;`,
				`COSMOS_ENDPOINT=https://orders-prod.documents.azure.com:443/`,
			},
		},
		{
			ID:          "azure-shared-access-key",
			Description: "Azure Service Bus, Event Hubs, Relay or IoT Hub shared access key",
			Severity:    crit,
			Tags:        []string{"cloud", "azure", "key", "connection-string"},
			Keywords:    []string{"SharedAccessKey="},
			Regex:       cloudRe(`(?:^|[;"'\s])SharedAccessKey=([A-Za-z0-9+/]{43}=)` + cloudEndB64),
			Entropy:     4.5,
			Validate:    cloudB64(32),
			Examples: []string{
				`SERVICEBUS_CONNECTION="Endpoint=sb://orders-prod.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=d4TtS8j6hym29+whC4u3+quNgtOkn2X7CYviZlJZ4Ms="`,
				`HostName=fleet-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=o7e+yyjmVaiPO8qlNS0RNxH4le7dBSJUW4hmvmF2WfE=`,
			},
			NonExamples: []string{
				`Endpoint=sb://orders-prod.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=<key>`,
				`Endpoint=sb://orders-prod.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX=`,
			},
		},
		{
			ID:          "azure-devops-pat",
			Description: "Azure DevOps personal access token",
			Severity:    high,
			Tags:        []string{"cloud", "azure", "token", "devops"},
			Keywords:    []string{"azure_devops", "azure-devops", "azuredevops", "azdo", "ado_", "vsts", "devops", "dev.azure.com"},
			Regex: cloudRe(`(?:(?i:(?:azure[_.\-]?devops|ado|azdo|vsts|devops)[\w.\-]{0,20}(?:pat|token|password|pass|key))` + cloudSep +
				`|https://[^:@/\s]{0,50}:)([a-z2-7]{52})(?:[^A-Za-z0-9]|$)`),
			Entropy:  3.8,
			Validate: cloudReal,
			Examples: []string{
				`AZURE_DEVOPS_EXT_PAT=nvtmipdpnnb5yl53t7z6ct2ji4ealo6d5jp7ameojjgi4plhjfpg`,
				`git clone https://build:nvtmipdpnnb5yl53t7z6ct2ji4ealo6d5jp7ameojjgi4plhjfpg@dev.azure.com/contoso/app/_git/app`,
			},
			NonExamples: []string{
				`AZURE_DEVOPS_EXT_PAT=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`AZURE_DEVOPS_EXT_PAT=nvtmipdpnnb5yl53t7z6ct2ji4ealo6d5jp7ameojjgi4plhjfpgq`,
				// Uppercase: not the PAT alphabet.
				`AZURE_DEVOPS_EXT_PAT=NVTMIPDPNNB5YL53T7Z6CT2JI4EALO6D5JP7AMEOJJGI4PLHJFPG`,
			},
		},

		// ---- DigitalOcean --------------------------------------------------
		{
			ID:          "digitalocean-personal-access-token",
			Description: "DigitalOcean personal access token",
			Severity:    high,
			Tags:        []string{"cloud", "digitalocean", "token"},
			Keywords:    []string{"dop_v1_"},
			Regex:       cloudRe(`\b(dop_v1_[a-f0-9]{64})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`DIGITALOCEAN_TOKEN=dop_v1_7ce45621e9df6ec8ad862073257aaf8a2a56f853936ad8ad185759e1fff9f9f4`,
			},
			NonExamples: []string{
				`DIGITALOCEAN_TOKEN=dop_v1_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`DIGITALOCEAN_TOKEN=dop_v1_7ce45621e9df6ec8ad862073257aaf8a`,
				`DIGITALOCEAN_TOKEN=dop_v1_7ce45621e9df6ec8ad862073257aaf8a2a56f853936ad8ad185759e1fff9f9f4aa`,
			},
		},
		{
			ID:          "digitalocean-oauth-token",
			Description: "DigitalOcean OAuth access token",
			Severity:    high,
			Tags:        []string{"cloud", "digitalocean", "token", "oauth"},
			Keywords:    []string{"doo_v1_"},
			Regex:       cloudRe(`\b(doo_v1_[a-f0-9]{64})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`"access_token": "doo_v1_fa614b52ce67c6a95ae9d224e48631243fb9141489c680330556a64ebbb8bc9c"`,
			},
			NonExamples: []string{
				`"access_token": "doo_v1_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`,
				`"access_token": "doo_v1_FA614B52CE67C6A95AE9D224E48631243FB9141489C680330556A64EBBB8BC9C"`,
			},
		},
		{
			ID:          "digitalocean-refresh-token",
			Description: "DigitalOcean OAuth refresh token",
			Severity:    high,
			Tags:        []string{"cloud", "digitalocean", "token", "oauth"},
			Keywords:    []string{"dor_v1_"},
			Regex:       cloudRe(`\b(dor_v1_[a-f0-9]{64})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`"refresh_token": "dor_v1_f324c8cc043d1e1fd9242a900e13ec4acaa931eb5cebb19cf9f87a6796794b40"`,
			},
			NonExamples: []string{
				`"refresh_token": "dor_v1_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`,
				`"refresh_token": "dor_v1_f324c8cc043d1e1fd9242a900e13ec4a"`,
			},
		},

		// ---- Linode, Vultr, Hetzner ----------------------------------------
		{
			ID:          "linode-api-token",
			Description: "Linode (Akamai Cloud) API token",
			Severity:    high,
			Tags:        []string{"cloud", "linode", "token"},
			Keywords:    []string{"linode"},
			Regex:       cloudRe(`(?i:linode[\w.\-]{0,20}(?:token|key|pat|secret))` + cloudSep + `([a-f0-9]{64})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`LINODE_TOKEN=260cc9908d98e28d94d3165e45ffe23e0f6dfba4e59c5e79e37ae89bf491cee3`,
				`linode_api_token = "260cc9908d98e28d94d3165e45ffe23e0f6dfba4e59c5e79e37ae89bf491cee3"`,
			},
			NonExamples: []string{
				`LINODE_TOKEN=0000000000000000000000000000000000000000000000000000000000000000`,
				`API_TOKEN=260cc9908d98e28d94d3165e45ffe23e0f6dfba4e59c5e79e37ae89bf491cee3`,
				`LINODE_TOKEN=260cc9908d98e28d94d3165e45ffe23e`,
			},
		},
		{
			ID:          "vultr-api-key",
			Description: "Vultr API key",
			Severity:    high,
			Tags:        []string{"cloud", "vultr", "key"},
			Keywords:    []string{"vultr"},
			Regex:       cloudRe(`(?i:vultr[\w.\-]{0,20}(?:key|token))` + cloudSep + `([A-Z0-9]{36})` + cloudEndAlnum),
			Entropy:     3.5,
			Validate:    cloudReal,
			Examples: []string{
				`VULTR_API_KEY=0O0SWIPG0K22AS3DZM66N7UTBEQFFU9RFH7F`,
			},
			NonExamples: []string{
				`VULTR_API_KEY=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX`,
				`VULTR_API_KEY=0o0swipg0k22as3dzm66n7utbeqffu9rfh7f`,
				`API_KEY=0O0SWIPG0K22AS3DZM66N7UTBEQFFU9RFH7F`,
			},
		},
		{
			ID:          "hetzner-cloud-api-token",
			Description: "Hetzner Cloud API token",
			Severity:    high,
			Tags:        []string{"cloud", "hetzner", "token"},
			Keywords:    []string{"hcloud", "hetzner"},
			Regex:       cloudRe(`(?i:(?:hcloud|hetzner)[\w.\-]{0,20}(?:token|key))` + cloudSep + `([A-Za-z0-9]{64})` + cloudEndAlnum),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`HCLOUD_TOKEN=b0EJXC9krfBatZ58kNMzubT9plAwYQPnvS4LNCtpDNWeAUjLQPPXhvpqPsFDrxlb`,
			},
			NonExamples: []string{
				`HCLOUD_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`HCLOUD_TOKEN=b0EJXC9krfBatZ58kNMzubT9plAwYQPnvS4LNCtp`,
			},
		},

		// ---- Scaleway ------------------------------------------------------
		{
			ID:          "scaleway-access-key",
			Description: "Scaleway access key",
			Severity:    med,
			Tags:        []string{"cloud", "scaleway", "key-id"},
			Keywords:    []string{"SCW"},
			Regex:       cloudRe(`\b(SCW[A-Z0-9]{17})\b`),
			Entropy:     3.2,
			Validate:    cloudReal,
			Examples: []string{
				`SCW_ACCESS_KEY=SCWLXKQXB6CRSLN0FADA`,
			},
			NonExamples: []string{
				`SCW_ACCESS_KEY=SCWXXXXXXXXXXXXXXXXX`,
				`SCW_ACCESS_KEY=SCWLXKQXB6CR`,
				`SCW_ACCESS_KEY=SCWlxkqxb6crsln0fada`,
			},
		},
		{
			ID:          "scaleway-secret-key",
			Description: "Scaleway secret key",
			Severity:    crit,
			Tags:        []string{"cloud", "scaleway", "key"},
			Keywords:    []string{"scw", "scaleway"},
			Regex:       cloudRe(`(?i:(?:scw|scaleway)[\w.\-]{0,20}secret[\w.\-]{0,10})` + cloudSep + `(` + cloudUUID + `)\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`SCW_SECRET_KEY=9d28cebf-5bff-419f-9f45-d815b8d7adaa`,
			},
			NonExamples: []string{
				`SCW_SECRET_KEY=00000000-0000-0000-0000-000000000000`,
				`SCW_SECRET_KEY=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
				`SECRET_KEY=9d28cebf-5bff-419f-9f45-d815b8d7adaa`,
			},
		},

		// ---- OVHcloud ------------------------------------------------------
		{
			ID:          "ovh-application-secret",
			Description: "OVHcloud API application secret",
			Severity:    crit,
			Tags:        []string{"cloud", "ovh", "key"},
			Keywords:    []string{"ovh"},
			Regex: cloudRe(`(?i:ovh[\w.\-]{0,20}(?:application|app)[_.\-]?secret|\[ovh-[a-z\-]{2,12}\][^\[]{0,400}?application_secret)` +
				cloudSep + `([A-Za-z0-9]{32})` + cloudEndAlnum),
			Entropy:  3.5,
			Validate: cloudReal,
			Examples: []string{
				`OVH_APPLICATION_SECRET=8wexewETAZidWmnrq6xcKsi3HMfZuKyw`,
				"[ovh-eu]\napplication_key=fZpPpsPV7e7MxCVu\napplication_secret=8wexewETAZidWmnrq6xcKsi3HMfZuKyw\nconsumer_key=N6GBntaGmznaNXwuwMI493DFErQfcJGN",
			},
			NonExamples: []string{
				`OVH_APPLICATION_SECRET=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`APPLICATION_SECRET=8wexewETAZidWmnrq6xcKsi3HMfZuKyw`,
			},
		},
		{
			ID:          "ovh-consumer-key",
			Description: "OVHcloud API consumer key",
			Severity:    high,
			Tags:        []string{"cloud", "ovh", "token"},
			Keywords:    []string{"ovh"},
			Regex: cloudRe(`(?i:ovh[\w.\-]{0,20}consumer[_.\-]?key|\[ovh-[a-z\-]{2,12}\][^\[]{0,400}?consumer_key)` +
				cloudSep + `([A-Za-z0-9]{32})` + cloudEndAlnum),
			Entropy:  3.5,
			Validate: cloudReal,
			Examples: []string{
				`OVH_CONSUMER_KEY=N6GBntaGmznaNXwuwMI493DFErQfcJGN`,
			},
			NonExamples: []string{
				`OVH_CONSUMER_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`CONSUMER_KEY=N6GBntaGmznaNXwuwMI493DFErQfcJGN`,
			},
		},

		// ---- IBM Cloud -----------------------------------------------------
		{
			ID:          "ibm-cloud-api-key",
			Description: "IBM Cloud IAM API key",
			Severity:    crit,
			Tags:        []string{"cloud", "ibm", "key"},
			Keywords:    []string{"ibm", "ic_api_key"},
			Regex:       cloudRe(`(?i:ibm[\w.\-]{0,30}api[_.\-]?key|ic[_.\-]api[_.\-]?key)` + cloudSep + `([A-Za-z0-9_\-]{44})` + cloudEndTok),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`IBMCLOUD_API_KEY=xAo8UJ817AvmMy_kJS-gT9xshJZ77Uc6LMAkVwEM4hkQ`,
				`IC_API_KEY: "xAo8UJ817AvmMy_kJS-gT9xshJZ77Uc6LMAkVwEM4hkQ"`,
			},
			NonExamples: []string{
				`IBMCLOUD_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`API_KEY=xAo8UJ817AvmMy_kJS-gT9xshJZ77Uc6LMAkVwEM4hkQ`,
				`IBMCLOUD_API_KEY=xAo8UJ817AvmMy_kJS-gT9xshJZ77Uc6LMAkVwEM4hkQab`,
			},
		},
		{
			ID:          "ibm-cos-hmac-secret",
			Description: "IBM Cloud Object Storage HMAC secret access key",
			Severity:    crit,
			Tags:        []string{"cloud", "ibm", "key", "storage"},
			Keywords:    []string{"cos_hmac_keys"},
			Regex:       cloudRe(`"secret_access_key"\s{0,5}:\s{0,5}"([a-f0-9]{48})"`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				"\"cos_hmac_keys\": {\n  \"access_key_id\": \"48b6b019411ff7ff153b80a781dd2dcc\",\n  \"secret_access_key\": \"ac94dc2adfab09275d896007b5e4e96698f6c8cabbbf9f5b\"\n}",
			},
			NonExamples: []string{
				"\"cos_hmac_keys\": {\n  \"access_key_id\": \"48b6b019411ff7ff153b80a781dd2dcc\",\n  \"secret_access_key\": \"000000000000000000000000000000000000000000000000\"\n}",
				"\"cos_hmac_keys\": {\n  \"secret_access_key\": \"ac94dc2adfab09275d896007b5e4e966\"\n}",
			},
		},

		// ---- Oracle Cloud Infrastructure -----------------------------------
		{
			ID:          "oci-api-key-fingerprint",
			Description: "Oracle Cloud (OCI) API signing key fingerprint in a config",
			Severity:    med,
			Tags:        []string{"cloud", "oci", "oracle", "key-id"},
			Keywords:    []string{"ocid1.", "tenancy", "oci_"},
			Regex:       cloudRe(`(?i:fingerprint)["']?\s{0,5}[:=]\s{0,5}["']?((?:[0-9a-f]{2}:){15}[0-9a-f]{2})\b`),
			Validate:    cloudFingerprint,
			Examples: []string{
				"[DEFAULT]\nuser=ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq\nfingerprint=6f:7f:75:28:df:9c:f5:77:4e:5d:1b:ac:8d:2c:0a:fb\ntenancy=ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq\nregion=eu-frankfurt-1\nkey_file=~/.oci/oci_api_key.pem",
			},
			NonExamples: []string{
				"[DEFAULT]\nuser=ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq\nfingerprint=aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99",
				// An SSH host key fingerprint, nothing to do with OCI.
				`Host key fingerprint is 6f:7f:75:28:df:9c:f5:77:4e:5d:1b:ac:8d:2c:0a:fb`,
			},
		},
		{
			ID:          "oci-api-private-key",
			Description: "Oracle Cloud (OCI) API signing private key in configuration",
			Severity:    crit,
			Tags:        []string{"cloud", "oci", "oracle", "key", "private-key"},
			Keywords:    []string{"oci", "oracle"},
			Regex: cloudRe(`(?i:(?:oci|oracle)[\w.\-]{0,30}private[_.\-]?key(?:[_.\-]?content)?)["']?\s{0,5}[:=]{1,2}\s{0,5}["']?` +
				`(-----BEGIN (?:RSA )?PRIVATE KEY-----(?:\\n|\s){1,4}[A-Za-z0-9+/=\\\s]{100,}?-----END (?:RSA )?PRIVATE KEY-----)`),
			Entropy:  4.5,
			Validate: cloudReal,
			Examples: []string{
				`TF_VAR_oci_private_key="-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCk4qjg+6nPXAeMh8C71Tl+TgIzVevz9jWUg5Mi9NpCm5q0qj5z4isR6whn2LJYagqyqM9eAvkBuQz8cVK\nh2tlr9J8DZlK3Br46jUEJmrJDXT3xpC8x9yfALca+9A2/bOGumo1wVwO89w0hjKgtNRtk0dacPNKJy47M9TFMBj1oC9qrjhhO3vm+tohqL63ibk\n-----END PRIVATE KEY-----"`,
			},
			NonExamples: []string{
				`TF_VAR_oci_private_key="-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----"`,
				`oci_private_key_path = "~/.oci/oci_api_key.pem"`,
			},
		},

		// ---- Cloudflare ----------------------------------------------------
		{
			ID:          "cloudflare-api-token",
			Description: "Cloudflare API token",
			Severity:    high,
			Tags:        []string{"cloud", "cloudflare", "token"},
			Keywords:    []string{"cloudflare", "cf_api", "cf_token", "cf-api", "cf-token"},
			Regex:       cloudRe(`(?i:(?:cloudflare|cf)[\w.\-]{0,20}token)` + cloudSep + `([A-Za-z0-9_\-]{40})` + cloudEndTok),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`CLOUDFLARE_API_TOKEN=qZfWDlJnVTMqveKqaBP7xE73UucUOrhmmfHQFqeW`,
				`CF_API_TOKEN: "qZfWDlJnVTMqveKqaBP7xE73UucUOrhmmfHQFqeW"`,
			},
			NonExamples: []string{
				`CLOUDFLARE_API_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`API_TOKEN=qZfWDlJnVTMqveKqaBP7xE73UucUOrhmmfHQFqeW`,
				`CLOUDFLARE_API_TOKEN=qZfWDlJnVTMqveKqaBP7xE73UucUOrhmmfHQFqeWz`,
			},
		},
		{
			ID:          "cloudflare-global-api-key",
			Description: "Cloudflare global API key",
			Severity:    crit,
			Tags:        []string{"cloud", "cloudflare", "key"},
			Keywords:    []string{"cloudflare", "cf_api_key", "cf_key", "cf_global", "cf-api-key", "x-auth-key"},
			Regex:       cloudRe(`(?i:(?:cloudflare|cf)[\w.\-]{0,20}key|x-auth-key)` + cloudSep + `([a-f0-9]{37})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`CLOUDFLARE_API_KEY=419be28f11111ee87300ea3588f2eb9432fd9`,
				`curl -H "X-Auth-Email: ops@contoso.com" -H "X-Auth-Key: 419be28f11111ee87300ea3588f2eb9432fd9" https://api.cloudflare.com/client/v4/zones`,
			},
			NonExamples: []string{
				`CLOUDFLARE_API_KEY=0000000000000000000000000000000000000`,
				`CLOUDFLARE_API_KEY=419be28f11111ee87300ea3588f2eb9432fd9ab`,
				`API_KEY=419be28f11111ee87300ea3588f2eb9432fd9`,
			},
		},
		{
			ID:          "cloudflare-origin-ca-key",
			Description: "Cloudflare Origin CA key",
			Severity:    high,
			Tags:        []string{"cloud", "cloudflare", "key"},
			Keywords:    []string{"v1.0-"},
			Regex:       cloudRe(`\b(v1\.0-[a-f0-9]{24}-[a-f0-9]{120,180})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`CF_ORIGIN_CA_KEY=v1.0-e7f3d665d847349362aed1c5-12c03b857bcfe7e6bebd849494d34368c3c6fdc4eed025bc3e52a802e01041dc0324b6b9f594a0ddfd3a6a0da52d749b0466a3b417799fd52c7606a3afa13ae5539bc23771437cc35a`,
			},
			NonExamples: []string{
				`CF_ORIGIN_CA_KEY=v1.0-e7f3d665d847349362aed1c5-12c03b857bcfe7e6`,
				`version: v1.0-beta-20240101`,
			},
		},

		// ---- Platforms: Heroku, Fastly, Netlify, Vercel, Render, Fly.io ----
		{
			ID:          "heroku-api-key",
			Description: "Heroku API key",
			Severity:    high,
			Tags:        []string{"cloud", "heroku", "key"},
			Keywords:    []string{"heroku"},
			Regex:       cloudRe(`(?i:heroku[\w.\-]{0,20}(?:key|token|password|secret))` + cloudSep + `(` + cloudUUID + `)\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`HEROKU_API_KEY=264decba-dd94-458a-ae28-ec2c226ad304`,
			},
			NonExamples: []string{
				`HEROKU_API_KEY=00000000-0000-0000-0000-000000000000`,
				`HEROKU_APP_ID=264decba-dd94-458a-ae28-ec2c226ad304`,
				`API_KEY=264decba-dd94-458a-ae28-ec2c226ad304`,
			},
		},
		{
			ID:          "heroku-api-token",
			Description: "Heroku API token (HRKU- format)",
			Severity:    high,
			Tags:        []string{"cloud", "heroku", "token"},
			Keywords:    []string{"HRKU-"},
			Regex:       cloudRe(`\b(HRKU-[A-Za-z0-9_\-]{40,80})` + cloudEndTok),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`HEROKU_API_KEY=HRKU-AAnN0t7cS2bQ_mXw4Kc9dLr1vZp6Yh3JeF8gUoT5iB0aWqEsRxM2kC7lDfN4`,
			},
			NonExamples: []string{
				`HEROKU_API_KEY=HRKU-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`HEROKU_API_KEY=HRKU-AAnN0t7cS2bQ`,
			},
		},
		{
			ID:          "fastly-api-token",
			Description: "Fastly API token",
			Severity:    high,
			Tags:        []string{"cloud", "fastly", "token"},
			Keywords:    []string{"fastly"},
			Regex:       cloudRe(`(?i:fastly[\w.\-]{0,20}(?:key|token))` + cloudSep + `([A-Za-z0-9_\-]{32})` + cloudEndTok),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`FASTLY_API_TOKEN=cNnFn659SAUj-H-yNmUXHg7E4SVIzWom`,
			},
			NonExamples: []string{
				`FASTLY_API_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`FASTLY_API_TOKEN=cNnFn659SAUj-H-yNmUXHg7E4SVIzWomQ`,
				`API_TOKEN=cNnFn659SAUj-H-yNmUXHg7E4SVIzWom`,
			},
		},
		{
			ID:          "netlify-personal-access-token",
			Description: "Netlify personal access token (nfp_ format)",
			Severity:    high,
			Tags:        []string{"cloud", "netlify", "token"},
			Keywords:    []string{"nfp_"},
			Regex:       cloudRe(`\b(nfp_[A-Za-z0-9]{36})\b`),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`NETLIFY_AUTH_TOKEN=nfp_STvsk32bJCC7vrBfY0Nj00b2uOCYaza5vriH`,
			},
			NonExamples: []string{
				`NETLIFY_AUTH_TOKEN=nfp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`NETLIFY_AUTH_TOKEN=nfp_STvsk32bJCC7vrBfY0Nj`,
			},
		},
		{
			ID:          "netlify-access-token",
			Description: "Netlify access token (legacy format, by context)",
			Severity:    high,
			Tags:        []string{"cloud", "netlify", "token"},
			Keywords:    []string{"netlify"},
			Regex:       cloudRe(`(?i:netlify[\w.\-]{0,20}token)` + cloudSep + `([A-Za-z0-9_\-]{43})` + cloudEndTok),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`NETLIFY_AUTH_TOKEN=S0ulG7RG3zQRWkBv6gqyrkoYwvyEmCw_K8-ZP09gEQ0`,
			},
			NonExamples: []string{
				`NETLIFY_AUTH_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`NETLIFY_SITE_ID=S0ulG7RG3zQRWkBv6gqyrkoYwvyEmCw_K8-ZP09gEQ0`,
			},
		},
		{
			ID:          "vercel-access-token",
			Description: "Vercel access token",
			Severity:    high,
			Tags:        []string{"cloud", "vercel", "token"},
			Keywords:    []string{"vercel"},
			Regex:       cloudRe(`(?i:vercel[\w.\-]{0,20}(?:token|key))` + cloudSep + `([A-Za-z0-9]{24})` + cloudEndAlnum),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`VERCEL_TOKEN=BNAKbPPp5XDt7M6G31OTQAu8`,
			},
			NonExamples: []string{
				`VERCEL_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxx`,
				`VERCEL_ORG_ID=BNAKbPPp5XDt7M6G31OTQAu8`,
				`VERCEL_TOKEN=BNAKbPPp5XDt7M6G31OTQAu8Wq`,
			},
		},
		{
			ID:          "render-api-key",
			Description: "Render API key",
			Severity:    high,
			Tags:        []string{"cloud", "render", "key"},
			Keywords:    []string{"rnd_"},
			Regex:       cloudRe(`\b(rnd_[A-Za-z0-9]{32})\b`),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`RENDER_API_KEY=rnd_m0w3pBszz9wcIU1LK9jm2pJr9XcLPJT2`,
			},
			NonExamples: []string{
				`RENDER_API_KEY=rnd_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`RENDER_API_KEY=rnd_m0w3pBszz9wcIU1L`,
			},
		},
		{
			ID:          "flyio-access-token",
			Description: "Fly.io access token",
			Severity:    high,
			Tags:        []string{"cloud", "flyio", "token"},
			Keywords:    []string{"fo1_"},
			Regex:       cloudRe(`\b(fo1_[A-Za-z0-9_\-]{39,48})` + cloudEndTok),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`FLY_API_TOKEN=fo1_x6ln5CkfCXFZ6YYQj6MxL5hMCvoV9-WoPz4ttVKnUrE`,
			},
			NonExamples: []string{
				`FLY_API_TOKEN=fo1_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`FLY_API_TOKEN=fo1_x6ln5CkfCXFZ6YYQj6MxL5`,
			},
		},

		// ---- Data platforms: Supabase, Databricks, Snowflake ---------------
		{
			ID:          "supabase-access-token",
			Description: "Supabase personal access token",
			Severity:    high,
			Tags:        []string{"cloud", "supabase", "token"},
			Keywords:    []string{"sbp_"},
			Regex:       cloudRe(`\b(sbp_[a-f0-9]{40})\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`SUPABASE_ACCESS_TOKEN=sbp_fcce5e053f8c4e69c127e80ba25e88b047efb832`,
			},
			NonExamples: []string{
				`SUPABASE_ACCESS_TOKEN=sbp_0000000000000000000000000000000000000000`,
				`SUPABASE_ACCESS_TOKEN=sbp_fcce5e053f8c4e69c127e80ba25e`,
			},
		},
		{
			ID:          "supabase-secret-key",
			Description: "Supabase project secret API key",
			Severity:    crit,
			Tags:        []string{"cloud", "supabase", "key"},
			Keywords:    []string{"sb_secret_"},
			Regex:       cloudRe(`\b(sb_secret_[A-Za-z0-9_\-]{28,64})` + cloudEndTok),
			Entropy:     3.8,
			Validate:    cloudReal,
			Examples: []string{
				`SUPABASE_SECRET_KEY=sb_secret_Pn2xOH3wqUXtdM_DGDFnswy9mWuPNXU`,
			},
			NonExamples: []string{
				`SUPABASE_SECRET_KEY=sb_secret_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`SUPABASE_SECRET_KEY=sb_secret_Pn2xOH3wqU`,
			},
		},
		{
			ID:          "databricks-api-token",
			Description: "Databricks personal access token",
			Severity:    high,
			Tags:        []string{"cloud", "databricks", "token"},
			Keywords:    []string{"dapi"},
			Regex:       cloudRe(`\b(dapi[a-f0-9]{32}(?:-[0-9])?)\b`),
			Entropy:     3.0,
			Validate:    cloudReal,
			Examples: []string{
				`DATABRICKS_TOKEN=dapi21203fe6f356963c0cc9c1c18a767623`,
			},
			NonExamples: []string{
				`DATABRICKS_TOKEN=dapi00000000000000000000000000000000`,
				`DATABRICKS_TOKEN=dapi21203fe6f356963c`,
				`DATABRICKS_TOKEN=dapi21203fe6f356963c0cc9c1c18a767623ab`,
			},
		},
		{
			ID:          "snowflake-connection-password",
			Description: "Password in a Snowflake connection URL",
			Severity:    high,
			Tags:        []string{"cloud", "snowflake", "password", "connection-string"},
			Keywords:    []string{"snowflake://"},
			Regex:       cloudRe(`(?i:snowflake://)[^:/\s@"']{1,128}:([^@\s/"']{6,128})@`),
			Entropy:     2.5,
			Validate:    cloudReal,
			Examples: []string{
				`SNOWFLAKE_URL=snowflake://etl_user:uVIvzftwSeIiQ25v@xy12345.eu-central-1/analytics/public?warehouse=etl_wh`,
			},
			NonExamples: []string{
				`SNOWFLAKE_URL=snowflake://etl_user:${SNOWFLAKE_PASSWORD}@xy12345.eu-central-1/analytics`,
				`SNOWFLAKE_URL=snowflake://etl_user:your_password@xy12345.eu-central-1/analytics`,
				`SNOWFLAKE_URL=snowflake://xy12345.eu-central-1/analytics`,
			},
		},

		// ---- Yandex Cloud --------------------------------------------------
		{
			ID:          "yandex-cloud-api-key",
			Description: "Yandex Cloud API key",
			Severity:    high,
			Tags:        []string{"cloud", "yandex", "key"},
			Keywords:    []string{"AQVN"},
			Regex:       cloudRe(`\b(AQVN[A-Za-z0-9_\-]{35,38})` + cloudEndTok),
			Entropy:     4.0,
			Validate:    cloudReal,
			Examples: []string{
				`YC_API_KEY=AQVNzJ5LFmEVeRrIKiOoQBhORqZJ7XDVBBTLqblF`,
			},
			NonExamples: []string{
				`YC_API_KEY=AQVNxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
				`YC_API_KEY=AQVNzJ5LFmEVeRrIKiOo`,
			},
		},
	}
}

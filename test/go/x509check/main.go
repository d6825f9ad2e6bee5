// x509check proves a certificate chain (and optional key) is accepted by Go's crypto/x509, as Kubernetes/etcd use it.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

type result struct {
	OK      bool     `json:"ok"`
	Subject string   `json:"subject"`
	Issuer  string   `json:"issuer"`
	Serial  string   `json:"serial"`
	Chains  int      `json:"chains"`
	IsCA    bool     `json:"isCA"`
	DNS     []string `json:"dns"`
	IPs     []string `json:"ips"`
	EKU     []int    `json:"eku"`
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "x509check: %s\n", msg)
	flag.Usage()
	os.Exit(2)
}

func fail(err error) {
	out, _ := json.Marshal(struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}{false, err.Error()})
	fmt.Println(string(out))
	os.Exit(1)
}

// loadCerts parses every CERTIFICATE block in path and applies checkCert to each.
func loadCerts(path, what string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for b, rest := pem.Decode(data); b != nil; b, rest = pem.Decode(rest) {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err = checkCert(c, what); err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no CERTIFICATE PEM blocks", path)
	}
	return certs, nil
}

func checkCert(c *x509.Certificate, what string) error {
	// Go >= 1.23 rejects negative serials outright. Zero is tolerated on
	// existing roots (kubeadm <= 1.14 CAs have serial 0) but never on a leaf.
	if c.SerialNumber == nil || c.SerialNumber.Sign() < 0 || (what == "leaf" && c.SerialNumber.Sign() == 0) {
		return fmt.Errorf("%s %q: negative or zero serial", what, c.Subject)
	}
	if c.SignatureAlgorithm == x509.SHA1WithRSA || c.SignatureAlgorithm == x509.ECDSAWithSHA1 {
		return fmt.Errorf("%s %q: sha1 signature", what, c.Subject)
	}
	return nil
}

func main() {
	roots := flag.String("roots", "", "PEM file with root CA certificate(s) (required)")
	inters := flag.String("intermediates", "", "PEM file with intermediate certificate(s)")
	leafPath := flag.String("leaf", "", "PEM file whose first certificate is the leaf (required)")
	eku := flag.String("eku", "none", "required extended key usage: server|client|any|none")
	dns := flag.String("dns", "", "DNS name the leaf must be valid for")
	ip := flag.String("ip", "", "IP address the leaf must be valid for")
	at := flag.String("at", "", "verification time, RFC3339 (default now)")
	keyPath := flag.String("key", "", "PEM private key that must match the leaf")
	flag.Parse()
	if *roots == "" || *leafPath == "" || flag.NArg() > 0 {
		usage("-roots and -leaf are required; no positional arguments")
	}
	usages := map[string]x509.ExtKeyUsage{"server": x509.ExtKeyUsageServerAuth, "client": x509.ExtKeyUsageClientAuth, "any": x509.ExtKeyUsageAny, "none": x509.ExtKeyUsageAny, "": x509.ExtKeyUsageAny}
	ku, ok := usages[*eku]
	if !ok {
		usage("bad -eku " + *eku)
	}
	now, err := time.Now(), error(nil)
	if *at != "" {
		if now, err = time.Parse(time.RFC3339, *at); err != nil {
			usage("bad -at: " + err.Error())
		}
	}
	if *ip != "" && net.ParseIP(*ip) == nil {
		usage("bad -ip " + *ip)
	}

	opts := x509.VerifyOptions{Roots: x509.NewCertPool(), Intermediates: x509.NewCertPool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{ku}, DNSName: *dns}
	add := func(path, what string, pool *x509.CertPool) {
		certs, err := loadCerts(path, what)
		if err != nil {
			fail(err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	add(*roots, "root", opts.Roots)
	if *inters != "" {
		add(*inters, "intermediate", opts.Intermediates)
	}
	leafs, err := loadCerts(*leafPath, "leaf") // the first certificate is the leaf
	if err != nil {
		fail(err)
	}
	leaf := leafs[0]
	chains, err := leaf.Verify(opts)
	if err != nil {
		fail(err)
	}
	if *ip != "" {
		if err := leaf.VerifyHostname(*ip); err != nil {
			fail(err)
		}
	}
	if *keyPath != "" {
		keyPEM, err := os.ReadFile(*keyPath)
		b, _ := pem.Decode(keyPEM)
		if err != nil {
			fail(err)
		}
		if b == nil || (b.Type != "RSA PRIVATE KEY" && b.Type != "EC PRIVATE KEY" && b.Type != "PRIVATE KEY") {
			fail(fmt.Errorf("%s: no RSA/EC/PKCS#8 PRIVATE KEY PEM block", *keyPath))
		}
		if _, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), pem.EncodeToMemory(b)); err != nil {
			fail(fmt.Errorf("key does not match leaf: %w", err))
		}
	}
	if leaf.IsCA {
		fmt.Fprintln(os.Stderr, "x509check: note: leaf is a CA certificate (IsCA=true)")
	}
	r := result{true, leaf.Subject.String(), leaf.Issuer.String(), leaf.SerialNumber.String(),
		len(chains), leaf.IsCA, append([]string{}, leaf.DNSNames...), []string{}, []int{}}
	for _, a := range leaf.IPAddresses {
		r.IPs = append(r.IPs, a.String())
	}
	for _, u := range leaf.ExtKeyUsage {
		r.EKU = append(r.EKU, int(u))
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

package remote

// The cache file (WithCacheFile): the last good copy of every document the
// Client accepted, as it was received, so that a resource server that
// restarts while the issuer is unreachable still verifies tokens.
//
//	{
//	  "version": 1,
//	  "issuer": "https://issuer.example.com",
//	  "resource_server": "orders-api",
//	  "metadata": {"url": …, "etag": …, "fetched": RFC 3339, "confirmed": RFC 3339, "body": "…"},
//	  "jwks": {…},
//	  "delivery": {…},          // the compact JWE, encrypted to the resource server's key
//	  "aggregation": {…},       // optional
//	  "lists": [{…}, …]         // Status List Tokens, "url" is the list's URI
//	}
//
// Nothing in it is secret in clear: the documents are public but for the
// key delivery, which stays encrypted to the resource server's key. On
// load every document is verified again — signatures, "sub", the
// delivery's recipient — as of the time it was fetched, so a file that was
// altered is refused (ErrCache) and the Client starts without it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// cacheVersion is the format version of the cache file.
const cacheVersion = 1

// maxCacheFile bounds the cache file read: the documents' bounds, with
// room for 64 status lists.
const maxCacheFile = maxMetadata + maxJWKS + maxDelivery + maxAggregation + 64*maxListToken

// errNoCache means there is no cache file yet: not an error to report.
var errNoCache = errors.New("remote: no cache file")

// cacheDoc is the cache file's content.
type cacheDoc struct {
	Version        int         `json:"version"`
	Issuer         string      `json:"issuer"`
	ResourceServer string      `json:"resource_server"`
	Metadata       *resource   `json:"metadata"`
	JWKS           *resource   `json:"jwks"`
	Delivery       *resource   `json:"delivery"`
	Aggregation    *resource   `json:"aggregation,omitempty"`
	Lists          []*resource `json:"lists,omitempty"`
}

// parseCache reads a cache file strictly: one JSON object of the known
// members, the current version, and resources with a URL and a body.
func parseCache(data []byte) (*cacheDoc, error) {
	if len(data) > maxCacheFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrCache, maxCacheFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc cacheDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: not a cache document: %w", ErrCache, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the document", ErrCache)
	}
	switch {
	case doc.Version != cacheVersion:
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCache, doc.Version, cacheVersion)
	case doc.Issuer == "" || doc.ResourceServer == "":
		return nil, fmt.Errorf("%w: no issuer or resource server", ErrCache)
	case doc.Metadata == nil || doc.JWKS == nil || doc.Delivery == nil:
		return nil, fmt.Errorf("%w: metadata, jwks and delivery are required", ErrCache)
	}
	all := append([]*resource{doc.Metadata, doc.JWKS, doc.Delivery}, doc.Lists...)
	if doc.Aggregation != nil {
		all = append(all, doc.Aggregation)
	}
	for i, r := range all {
		if r == nil || r.URL == "" || r.Body == "" || r.Fetched.IsZero() {
			return nil, fmt.Errorf("%w: document %d lacks url, body or fetched time", ErrCache, i)
		}
	}
	return &doc, nil
}

// loadCache starts the Client from its cache file, verifying every
// document as of when it was fetched.
func (c *Client) loadCache() error {
	fi, err := os.Lstat(c.cfg.cacheFile)
	if errors.Is(err, fs.ErrNotExist) {
		return errNoCache
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrCache, c.cfg.cacheFile)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (mode %v): refused", ErrCache, c.cfg.cacheFile, fi.Mode().Perm())
	}
	f, err := os.Open(c.cfg.cacheFile)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCacheFile+1))
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	doc, err := parseCache(data)
	if err != nil {
		return err
	}
	if doc.Issuer != c.issuer || doc.ResourceServer != c.rsID {
		return fmt.Errorf("%w: written for issuer %q and resource server %q", ErrCache, cut(doc.Issuer), cut(doc.ResourceServer))
	}
	meta, err := c.parseMetadata([]byte(doc.Metadata.Body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	set, err := jws.ParseKeySet([]byte(doc.JWKS.Body))
	if err != nil {
		return fmt.Errorf("%w: %w: %w", ErrCache, ErrIssuerKeys, err)
	}
	c.mu.Lock()
	c.meta, c.metaRes, c.jwksRes = meta, doc.Metadata, doc.JWKS
	c.mu.Unlock()
	c.sigKeys.Store(set)
	if err := c.applyDelivery(doc.Delivery, at(doc.Delivery.Fetched)); err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	// Lists the file holds that fail are reported and left out: the
	// keys alone still verify tokens.
	var listErr error
	for _, r := range doc.Lists {
		if err := c.applyList(r, at(r.Fetched)); err != nil && listErr == nil {
			listErr = fmt.Errorf("%w: %w", ErrCache, err)
		}
	}
	if doc.Aggregation != nil {
		agg, err := statuslist.ParseAggregation([]byte(doc.Aggregation.Body))
		if err != nil {
			return fmt.Errorf("%w: %w: %w", ErrCache, ErrStatusList, err)
		}
		c.mu.Lock()
		c.aggRes = doc.Aggregation
		c.applyAggregation(agg)
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.dirty = false
	c.mu.Unlock()
	return listErr
}

// at returns a clock stopped at t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// saveCache writes the cache file if anything changed since it was last
// written, and reports a failure.
func (c *Client) saveCache() {
	if c.cfg.cacheFile == "" {
		return
	}
	c.mu.Lock()
	if !c.dirty || c.metaRes == nil || c.jwksRes == nil || c.deliveryRes == nil {
		c.mu.Unlock()
		return
	}
	doc := cacheDoc{
		Version: cacheVersion, Issuer: c.issuer, ResourceServer: c.rsID,
		Metadata: c.metaRes, JWKS: c.jwksRes, Delivery: c.deliveryRes, Aggregation: c.aggRes,
	}
	for _, ls := range c.listRes {
		if ls.tok != nil {
			doc.Lists = append(doc.Lists, ls.res)
		}
	}
	slices.SortFunc(doc.Lists, func(a, b *resource) int {
		if a.URL < b.URL {
			return -1
		}
		if a.URL > b.URL {
			return 1
		}
		return 0
	})
	data, err := json.Marshal(&doc)
	if err == nil {
		c.dirty = false
	}
	c.mu.Unlock()
	if err == nil {
		err = writeAtomic(c.cfg.cacheFile, data)
	}
	if err != nil {
		c.mu.Lock()
		c.dirty = true
		c.mu.Unlock()
		c.report(fmt.Errorf("%w: writing %s: %w", ErrCache, c.cfg.cacheFile, err))
	}
}

// writeAtomic replaces the file at path with data: a temporary file in the
// same directory (mode 0600), written, synced, renamed over path, and the
// directory synced. Readers see the old file or the new one, never a part.
func writeAtomic(path string, data []byte) (err error) {
	dir, name := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil // renamed; only the directory's durability is unknown
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

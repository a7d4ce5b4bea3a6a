package file_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/file"
)

// A redeemed code stays redeemed across a restart: the second process
// refuses it.
func Example() {
	dir, _ := os.MkdirTemp("", "store-example-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "store", "issuer.db")
	ctx, exp := context.Background(), time.Now().Add(time.Minute)

	s, err := file.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.RedeemCode(ctx, "code-1", exp))
	_ = s.Close()

	s, _ = file.Open(ctx, path) // the next start
	defer s.Close()
	fmt.Println(errors.Is(s.RedeemCode(ctx, "code-1", exp), store.ErrCodeReused))
	// Output:
	// <nil>
	// true
}

// A file that is not a store is refused, never replaced.
func ExampleOpen_corrupt() {
	dir, _ := os.MkdirTemp("", "store-example-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "issuer.db")
	_ = os.WriteFile(path, []byte("not a store"), 0o600)

	_, err := file.Open(context.Background(), path)
	fmt.Println(errors.Is(err, file.ErrCorrupt))
	b, _ := os.ReadFile(path)
	fmt.Println(string(b))
	// Output:
	// true
	// not a store
}

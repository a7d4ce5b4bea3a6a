package redis_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/redis"
)

// Two replicas share one Redis: a code redeemed on one is refused on the
// other. (No output is checked: the example needs a running server.)
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	replicaA, err := redis.New(ctx, "redis://127.0.0.1:6379/0", redis.WithPrefix("issuer:"))
	if err != nil {
		log.Fatal(err) // wraps store.ErrUnavailable if the server is down
	}
	defer replicaA.Close()
	replicaB, err := redis.New(ctx, "redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	defer replicaB.Close()

	exp := time.Now().Add(90 * time.Second) // the code's exp plus leeway
	if err := replicaA.RedeemCode(ctx, "code-jti", exp); err != nil {
		log.Fatal(err)
	}
	err = replicaB.RedeemCode(ctx, "code-jti", exp)
	log.Println(errors.Is(err, store.ErrCodeReused)) // true
}

package wallet

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sn27/sn27/internal/keys"
)

// FuzzDecodeKeyfile feeds arbitrary bytes to the key file decoder and the
// "$NACL" decryptor (cheap argon2i): no panics, only the documented errors,
// and whatever decodes re-encodes to the same key.
func FuzzDecodeKeyfile(f *testing.F) {
	dev, err := keys.FromMnemonic(devPhrase)
	if err != nil {
		f.Fatal(err)
	}
	enc, err := encrypt(Encode(dev), "pw", testKDF)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{
		Encode(dev),
		EncodePublic(dev.Public()),
		enc,
		enc[:40],
		[]byte(`{"accountId": "` + devPublic + `", "publicKey": "` + devPublic + `", "secretPhrase": null, "secretSeed": "` + devSeed + `", "ss58Address": "` + devSS58 + `"}`),
		[]byte(`{"privateKey": "0x00", "secretSeed": null}`),
		[]byte(`{"secretSeed": "0x0x0xabcdefghijklmnopqrstuvwxyz012345"}`),
		[]byte("$ANSIBLE_VAULT;1.1;AES256\n"),
		[]byte("gAAAAAB"),
		[]byte("$NACL"),
		[]byte(`[]`),
		nil,
	} {
		f.Add(seed, "pw")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		k, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrEncrypted) && !errors.Is(err, ErrLegacyEncryption) && !errors.Is(err, keys.ErrBadMnemonic) {
				t.Errorf("Decode: undocumented error %v", err)
			}
		} else {
			if k.Pair != nil {
				if k.Pair.Public() != k.Public {
					t.Error("Key.Public differs from the pair's")
				}
				k2, err := Decode(Encode(k.Pair))
				if err != nil || k2.Public != k.Public || k2.Pair.Raw() != k.Pair.Raw() {
					t.Errorf("re-encoded pair decodes to %+v, %v", k2, err)
				}
			} else if k2, err := Decode(EncodePublic(k.Public)); err != nil || k2.Public != k.Public {
				t.Errorf("re-encoded public key decodes to %+v, %v", k2, err)
			}
		}
		plain, err := decrypt(data, password, testKDF)
		if err != nil {
			if plain != nil || !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongPassword) && !errors.Is(err, ErrLegacyEncryption) {
				t.Errorf("decrypt: %q, undocumented error %v", plain, err)
			}
			return
		}
		again, err := encrypt(plain, password, testKDF)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := decrypt(again, password, testKDF); err != nil || !bytes.Equal(back, plain) {
			t.Errorf("round trip: %q, %v", back, err)
		}
	})
}

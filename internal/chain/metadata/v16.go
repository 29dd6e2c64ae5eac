package metadata

import (
	"fmt"
	"math"
	"slices"
)

// What metadata V16 (frame-metadata 23, RuntimeMetadataV16) adds to V15:
//
//   - no runtime type after the extrinsic;
//   - the extrinsic lists its supported versions (Vec<u8>), the address,
//     call and signature types, every transaction extension, and per
//     transaction extension version the indices of the extensions it uses
//     (BTreeMap<u8, Vec<Compact<u32>>>);
//   - pallets: calls, events and errors carry an EnumDeprecationInfo;
//     storage entries, constants and the pallet itself an
//     ItemDeprecationInfo; associated types and view functions follow the
//     error type;
//   - runtime APIs carry a version and deprecation info, their methods
//     deprecation info.

// transactionExtensionVersionV4 is the transaction extension version of
// signed v4 extrinsics (they do not encode one; sp_runtime uses 0).
const transactionExtensionVersionV4 = 0

// extrinsicV16 reads ExtrinsicMetadata V16 and picks the extensions of
// v4 signed extrinsics.
func (r *reader) extrinsicV16(m *Metadata) {
	n := r.vecLen(1)
	m.extrinsicVersions = make([]uint8, 0, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		m.extrinsicVersions = append(m.extrinsicVersions, r.d.U8())
	}
	for i := 0; i < 3; i++ { // address, call, signature
		r.typeID()
	}
	n = r.vecLen(2)
	byVersion := make(map[uint8][]uint32, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		v := r.d.U8()
		k := r.vecLen(1)
		idx := make([]uint32, 0, capFor(k))
		for j := 0; j < k && r.ok(); j++ {
			idx = append(idx, r.compactU32())
		}
		byVersion[v] = idx
	}
	m.txExts = r.extensions()
	if !r.ok() {
		return
	}
	m.txExtsByVers = make(map[uint8][]int, len(byVersion))
	for v, idx := range byVersion {
		l := make([]int, len(idx))
		for j, x := range idx {
			if int64(x) >= int64(len(m.txExts)) {
				r.fail("transaction extension version %d uses extension %d of %d", v, x, len(m.txExts))
				return
			}
			l[j] = int(x)
		}
		m.txExtsByVers[v] = l
	}
	if l, ok := m.txExtsByVers[transactionExtensionVersionV4]; ok {
		m.signedExts = make([]SignedExtension, len(l))
		for j, x := range l {
			m.signedExts[j] = m.txExts[x]
		}
	} else {
		// No version 0 list: as polkadot.js does, use every extension in order.
		m.signedExts = slices.Clone(m.txExts)
	}
}

// palletV16 reads what V16 puts between a pallet's error and its index:
// associated types and view functions.
func (r *reader) palletV16(p *palletDef) {
	n := r.vecLen(3)
	p.assocTypes = make([]assocType, 0, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		var a assocType
		a.name = r.str()
		a.ty = r.typeID()
		r.skipStrs()
		p.assocTypes = append(p.assocTypes, a)
	}
	n = r.vecLen(32 + 5)
	p.viewFns = make([]viewFunction, 0, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		var f viewFunction
		copy(f.id[:], r.d.Fixed(32))
		f.name = r.str()
		f.inputs = r.params()
		f.output = r.typeID()
		r.skipStrs()
		r.itemDeprecation()
		p.viewFns = append(p.viewFns, f)
	}
}

// params reads Vec<{name, ty}> (runtime API and view function inputs).
func (r *reader) params() []Field {
	n := r.vecLen(2)
	fs := make([]Field, 0, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		var f Field
		f.Name = r.str()
		f.Type = r.typeID()
		fs = append(fs, f)
	}
	return fs
}

func (r *reader) compactU32() uint32 {
	v := r.d.Compact()
	if r.ok() && v > math.MaxUint32 {
		r.fail("compact %d does not fit in u32", v)
		return 0
	}
	return uint32(v)
}

// itemDeprecation reads ItemDeprecationInfo: NotDeprecated (0),
// DeprecatedWithoutNote (1) or Deprecated{note, since: Option<String>} (2).
func (r *reader) itemDeprecation() Deprecation {
	tag := r.d.U8()
	if !r.ok() {
		return Deprecation{}
	}
	switch tag {
	case 0:
		return Deprecation{}
	case 1, 2:
		return r.deprecated(tag)
	}
	r.fail("unknown deprecation info %d", tag)
	return Deprecation{}
}

// enumDeprecation reads EnumDeprecationInfo: BTreeMap<u8,
// VariantDeprecationInfo>, whose variants are DeprecatedWithoutNote (1)
// and Deprecated{note, since} (2). It returns nil when nothing is
// deprecated.
func (r *reader) enumDeprecation() map[uint8]Deprecation {
	n := r.vecLen(2)
	if n == 0 {
		return nil
	}
	out := make(map[uint8]Deprecation, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		idx := r.d.U8()
		tag := r.d.U8()
		if !r.ok() {
			break
		}
		if tag != 1 && tag != 2 {
			r.fail("unknown variant deprecation info %d", tag)
			break
		}
		out[idx] = r.deprecated(tag)
	}
	return out
}

func (r *reader) deprecated(tag uint8) Deprecation {
	d := Deprecation{Deprecated: true}
	if tag == 2 {
		d.Note = r.str()
		if r.d.Option() {
			d.Since = r.str()
		}
	}
	return d
}

// ExtrinsicVersions returns the extrinsic format versions the runtime
// accepts: one (normally 4) with V14 and V15, all of them (e.g. 4 and 5)
// with V16.
func (m *Metadata) ExtrinsicVersions() []uint8 {
	return slices.Clone(m.extrinsicVersions)
}

// TransactionExtensions returns the extensions used by a transaction
// extension version, in extrinsic order (metadata V16; v4 signed
// extrinsics use version 0). With V14 and V15 version 0 gives
// SignedExtensions and other versions none.
func (m *Metadata) TransactionExtensions(version uint8) ([]SignedExtension, bool) {
	if m.Version < 16 {
		if version != transactionExtensionVersionV4 {
			return nil, false
		}
		return m.SignedExtensions(), true
	}
	idx, ok := m.txExtsByVers[version]
	if !ok {
		return nil, false
	}
	out := make([]SignedExtension, len(idx))
	for i, x := range idx {
		out[i] = m.txExts[x]
	}
	return out, true
}

// AssociatedType returns the type of a pallet's associated type, e.g.
// ("Balances", "Balance") (metadata V16 only).
func (m *Metadata) AssociatedType(pallet, name string) (TypeID, error) {
	p, err := m.pallet(pallet)
	if err != nil {
		return 0, err
	}
	for _, a := range p.assocTypes {
		if a.name == name {
			return a.ty, nil
		}
	}
	return 0, fmt.Errorf("metadata: pallet %q has no associated type %q", pallet, name)
}

// ViewFunction returns the 32-byte query ID, inputs (TypeName empty) and
// output type of a pallet view function (metadata V16 only).
func (m *Metadata) ViewFunction(pallet, name string) (id [32]byte, inputs []Field, output TypeID, err error) {
	p, err := m.pallet(pallet)
	if err != nil {
		return id, nil, 0, err
	}
	for _, f := range p.viewFns {
		if f.name == name {
			return f.id, slices.Clone(f.inputs), f.output, nil
		}
	}
	return id, nil, 0, fmt.Errorf("metadata: pallet %q has no view function %q", pallet, name)
}

// RuntimeAPIVersion returns the version of a runtime API trait (metadata
// V16 only; ok is false with V14 and V15 or an unknown trait).
func (m *Metadata) RuntimeAPIVersion(trait string) (version uint32, ok bool) {
	version, ok = m.apiVersions[trait]
	return version, ok
}

// Package layers holds no code: its tests enforce the project's import rules
// (leaves, adapters, daemons; see STYLE.md) and that every package has
// exactly one package comment.
package layers

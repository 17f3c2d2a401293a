// Package architecture holds no code. Its test keeps the package layering that
// docs/architecture.md describes: which of the project's packages each package may import, and
// that no production package or binary links package testing.
package architecture

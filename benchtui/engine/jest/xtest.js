// Exercism's stubs skip every test but the first (`xtest`) until the student gets there; its CI runs them
// all by rewriting `xtest(` into `test(`. This does the same without touching the spec files.
globalThis.xtest = globalThis.test;
globalThis.xit = globalThis.it;

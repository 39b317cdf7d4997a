// The mimalloc crate's shape without the crate (bookworm packages none): a Rust program
// whose global allocator is Debian's libmimalloc, called as that crate does:
// mi_malloc_aligned, mi_zalloc_aligned, mi_realloc_aligned with the layout's alignment,
// mi_free. Truth as tests/families/fam.h: counts, bytes and calls per entry point.
// Protocol: "ready PID", a line, the measured phase, one JSON truth line, a line, exit.
use std::alloc::{GlobalAlloc, Layout};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

extern "C" {
    fn mi_malloc_aligned(size: usize, align: usize) -> *mut u8;
    fn mi_zalloc_aligned(size: usize, align: usize) -> *mut u8;
    fn mi_realloc_aligned(p: *mut u8, size: usize, align: usize) -> *mut u8;
    fn mi_free(p: *mut u8);
}

const KEYS: [&str; 4] = ["mi_malloc_aligned", "mi_zalloc_aligned", "mi_realloc_aligned", "mi_free"];
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicUsize = AtomicUsize::new(0);
static CALLS: [AtomicUsize; 4] = [ZERO; 4];
static ALLOCS: AtomicUsize = ZERO;
static FREES: AtomicUsize = ZERO;
static BYTES: AtomicUsize = ZERO;
static ON: AtomicUsize = ZERO;

fn count(key: usize, allocs: usize, frees: usize, bytes: usize) {
    if ON.load(Relaxed) == 1 {
        CALLS[key].fetch_add(1, Relaxed);
        ALLOCS.fetch_add(allocs, Relaxed);
        FREES.fetch_add(frees, Relaxed);
        BYTES.fetch_add(bytes, Relaxed);
    }
}

struct Mimalloc;

unsafe impl GlobalAlloc for Mimalloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = mi_malloc_aligned(l.size(), l.align());
        count(0, !p.is_null() as usize, 0, if p.is_null() { 0 } else { l.size() });
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = mi_zalloc_aligned(l.size(), l.align());
        count(1, !p.is_null() as usize, 0, if p.is_null() { 0 } else { l.size() });
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, _l: Layout) {
        mi_free(p);
        count(3, 0, 1, 0);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let q = mi_realloc_aligned(p, n, l.align());
        let ok = !q.is_null() as usize;
        count(2, ok, ok, if q.is_null() { 0 } else { n });
        q
    }
}

#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

#[repr(align(64))]
#[derive(Clone, Copy)]
struct Line([u8; 64]);

fn opaque<T>(x: T) -> T {
    let r = unsafe { std::ptr::read_volatile(&x) };
    std::mem::forget(x);
    r
}

#[inline(never)]
fn work() -> usize {
    let mut n = 0;
    let mut v: Vec<u64> = Vec::new();
    for i in 0..300 {
        v.push(opaque(i));
    }
    n += opaque(v).len();
    for _ in 0..10 {
        n += opaque(Box::new(Line([1; 64]))).0.len();
    }
    for k in 1..6 {
        n += opaque(vec![0u8; 1000 * k]).len();
    }
    let keep = opaque(Box::new(Line([3; 64]))); // one block left live
    n += keep.0.len();
    std::mem::forget(keep);
    n
}

fn main() {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = String::with_capacity(256);
    let mut out = String::with_capacity(4096);
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    input.read_line(&mut line).unwrap();
    ON.store(1, Relaxed);
    let n = work();
    ON.store(0, Relaxed);
    opaque(n);
    use std::fmt::Write as _;
    let (a, f) = (ALLOCS.load(Relaxed), FREES.load(Relaxed));
    let _ = write!(out, "{{\"allocs\": {}, \"frees\": {}, \"live_allocs\": {}, \"alloc_bytes\": {}, \"calls\": {{",
                   a, f, a - f, BYTES.load(Relaxed));
    let mut first = true;
    for (i, k) in KEYS.iter().enumerate() {
        let c = CALLS[i].load(Relaxed);
        if c > 0 {
            let _ = write!(out, "{}\"{}\": {}", if first { "" } else { ", " }, k, c);
            first = false;
        }
    }
    out.push_str("}}\n");
    let mut so = std::io::stdout().lock();
    so.write_all(out.as_bytes()).unwrap();
    so.flush().unwrap();
    line.clear();
    let _ = input.read_line(&mut line);
}

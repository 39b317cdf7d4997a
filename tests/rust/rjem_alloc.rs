// tikv-jemallocator's shape without the crate (bookworm packages no jemalloc crate):
// a Rust program whose global allocator is jemalloc linked in statically with _rjem_
// names (Debian's libjemalloc_pic.a, names redefined by objcopy, see the Makefile),
// calling it the way that crate does: malloc / calloc / realloc while the alignment is
// the default, mallocx / rallocx with MALLOCX_LG_ALIGN (and MALLOCX_ZERO) beyond it,
// sdallocx with the size on every free. Truth as tests/families/fam.h: counts, bytes and
// calls per entry point without the prefix, as alloctop accounts them. Protocol: "ready
// PID", a line, the measured phase, one JSON truth line, a line, exit.
use std::alloc::{GlobalAlloc, Layout};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

extern "C" {
    fn _rjem_malloc(size: usize) -> *mut u8;
    fn _rjem_calloc(n: usize, size: usize) -> *mut u8;
    fn _rjem_realloc(p: *mut u8, size: usize) -> *mut u8;
    fn _rjem_mallocx(size: usize, flags: i32) -> *mut u8;
    fn _rjem_rallocx(p: *mut u8, size: usize, flags: i32) -> *mut u8;
    fn _rjem_sdallocx(p: *mut u8, size: usize, flags: i32);
}

const MALLOCX_ZERO: i32 = 0x40;
const MIN_ALIGN: usize = 16;

// counters, by key: malloc calloc realloc mallocx rallocx sdallocx
const KEYS: [&str; 6] = ["malloc", "calloc", "realloc", "mallocx", "rallocx", "sdallocx"];
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicUsize = AtomicUsize::new(0);
static CALLS: [AtomicUsize; 6] = [ZERO; 6];
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

fn flags(l: &Layout) -> i32 {
    if l.align() <= MIN_ALIGN && l.align() <= l.size() {
        0
    } else {
        l.align().trailing_zeros() as i32 // MALLOCX_LG_ALIGN
    }
}

struct Jemalloc;

unsafe impl GlobalAlloc for Jemalloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let f = flags(&l);
        let p = if f == 0 { _rjem_malloc(l.size()) } else { _rjem_mallocx(l.size(), f) };
        count(if f == 0 { 0 } else { 3 }, !p.is_null() as usize, 0, if p.is_null() { 0 } else { l.size() });
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let f = flags(&l);
        let p = if f == 0 { _rjem_calloc(1, l.size()) } else { _rjem_mallocx(l.size(), f | MALLOCX_ZERO) };
        count(if f == 0 { 1 } else { 3 }, !p.is_null() as usize, 0, if p.is_null() { 0 } else { l.size() });
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        _rjem_sdallocx(p, l.size(), flags(&l));
        count(5, 0, 1, 0);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let f = flags(&l);
        let q = if f == 0 { _rjem_realloc(p, n) } else { _rjem_rallocx(p, n, f) };
        let ok = !q.is_null() as usize;
        count(if f == 0 { 2 } else { 4 }, ok, ok, if q.is_null() { 0 } else { n });
        q
    }
}

#[global_allocator]
static GLOBAL: Jemalloc = Jemalloc;

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
    let mut v: Vec<u64> = Vec::new(); // malloc, then a realloc chain
    for i in 0..300 {
        v.push(opaque(i));
    }
    n += opaque(v).len();
    for _ in 0..10 {
        n += opaque(Box::new(Line([1; 64]))).0.len(); // align 64: mallocx, sdallocx
    }
    let mut lines: Vec<Line> = Vec::new(); // align 64 growth: mallocx, then rallocx
    for _ in 0..40 {
        lines.push(opaque(Line([2; 64])));
    }
    n += opaque(lines).len();
    for k in 1..6 {
        n += opaque(vec![0u8; 1000 * k]).len(); // alloc_zeroed: calloc
    }
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

// Rust workload (std only): allocations from a generic method, a closure, a trait
// implementation and a Vec, with names that need demangling. Same protocol as
// wl_stacks.h: --nowait runs and exits; otherwise "ready <pid>", a line, "done", EOF.
// Builds with Debian bookworm's rustc 1.63 (no std::hint::black_box there).
use std::io::{BufRead, Write};

/// Hides a value from the optimiser (a volatile read), so allocations stay.
#[inline(always)]
pub fn opaque<T: Copy>(x: T) -> T {
    unsafe { std::ptr::read_volatile(&x) }
}

extern "C" {
    fn malloc(n: usize) -> *mut u8;
    fn free(p: *mut u8);
}

pub mod arena {
    pub struct Arena<T> {
        pub blocks: Vec<*mut u8>,
        pub marker: std::marker::PhantomData<T>,
    }

    impl<T> Arena<T> {
        #[inline(never)]
        pub fn grab(&mut self, count: usize) -> *mut u8 {
            let p = unsafe { super::malloc(count * std::mem::size_of::<T>()) }; // @grab-line
            super::opaque(p);
            self.blocks.push(p);
            p
        }
    }
}

pub trait Shape {
    fn build(&self) -> *mut u8;
}

pub struct Square(pub usize);

impl Shape for Square {
    #[inline(never)]
    fn build(&self) -> *mut u8 {
        let p = unsafe { malloc(self.0 * self.0) }; // @build-line
        opaque(p)
    }
}

#[inline(never)]
fn run() -> Vec<*mut u8> {
    let mut a: arena::Arena<u64> = arena::Arena { blocks: Vec::with_capacity(64), marker: std::marker::PhantomData };
    for _ in 0..20 {
        a.grab(16); // 20 x 128 bytes, live  @run-grab-line
    }
    let temp = |n: usize| -> usize {
        let p = unsafe { malloc(n) }; // @closure-line
        opaque(p);
        unsafe { free(p) };
        n
    };
    let mut t = 0;
    for _ in 0..5 {
        t += temp(333); // 5 x 333 bytes, freed  @closure-call-line
    }
    opaque(t);
    let shapes: Vec<Box<dyn Shape>> = vec![Box::new(Square(10)), Box::new(Square(20))];
    let mut out = a.blocks.clone();
    for s in shapes.iter() {
        out.push(s.build()); // 100 + 400 bytes, live
    }
    out
}

/// The truth, on stderr (unbuffered; stdout is the tracer's in launch mode): what run()
/// allocates, site by site. Its literals are repeated here: constants shared with run()
/// changed how rustc compiles run(), whose stacks are what the test checks.
#[inline(never)]
fn truth() {
    let g = 20 * 16 * std::mem::size_of::<u64>();
    eprintln!("truth grab={},{},{} closure={},{},0 square10={},{},{} square20={},{},{}", 20, g, g, 5, 5 * 333,
              1, 100, 100, 1, 400, 400);
}

fn main() {
    let nowait = std::env::args().nth(1).as_deref() == Some("--nowait");
    let stdin = std::io::stdin();
    let mut line = String::new();
    if !nowait {
        println!("ready {}", std::process::id());
        std::io::stdout().flush().unwrap();
        stdin.lock().read_line(&mut line).unwrap();
    }
    let keep = run();
    opaque(keep.as_ptr());
    truth();
    if !nowait {
        println!("done");
        std::io::stdout().flush().unwrap();
        while stdin.lock().read_line(&mut line).unwrap_or(0) > 0 {
            line.clear();
        }
    }
}

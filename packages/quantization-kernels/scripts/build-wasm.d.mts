/** Path of src/generated/kernels-wasm.ts. */
export declare const generatedFile: string;
/** Compiles the AssemblyScript kernels and returns the text the generated module must have. */
export declare function renderGeneratedModule(): Promise<string>;

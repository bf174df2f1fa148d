/** SHA-256 (hex) of the trained MLP's weights after `steps` deterministic steps on `device`. */
export function train(device: string, steps: number): Promise<string>;

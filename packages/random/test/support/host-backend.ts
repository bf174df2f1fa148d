// A minimal CPU backend for these tests: storages are typed arrays, with the reads and writes the
// random package uses. It keeps the tests independent of @lockstep/backend-cpu (which depends on
// nothing here) and registers only when no "cpu" backend exists yet.
import { registerBackend, state, type Backend, type DType, type DataArray, type Storage } from "@lockstep/core";

interface HostStorage extends Storage {
  data: DataArray;
}

const constructors = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;

function make(device: string, readable: boolean): Backend<HostStorage> {
  const backend: Backend<HostStorage> = {
    device,
    allocate(dtype: DType, length: number): HostStorage {
      return { device, dtype, length, data: new constructors[dtype](length) };
    },
    upload(data: DataArray, dtype: DType): HostStorage {
      return { device, dtype, length: data.length, data: data.slice() };
    },
    write(storage: HostStorage, data: DataArray): void {
      if (data.length !== storage.length) throw new Error(`write of ${data.length} elements into ${storage.length}`);
      storage.data.set(data);
    },
    async read(storage: HostStorage): Promise<DataArray> {
      return storage.data.slice();
    },
    release(): void {},
  };
  if (readable) backend.readSync = (storage: HostStorage) => storage.data.slice();
  return backend;
}

/** Registers the host backend as "cpu" (unless one is registered) and an async-only "asyncdev". */
export function useHostBackend(): void {
  if (!state.backends.has("cpu")) registerBackend(make("cpu", true));
  if (!state.backends.has("asyncdev")) registerBackend(make("asyncdev", false));
}

/** The whole storage behind a tensor's view, as the backend holds it. */
export function storageOf(t: { storageView: { storage: Storage } }): DataArray {
  return (t.storageView.storage as HostStorage).data;
}

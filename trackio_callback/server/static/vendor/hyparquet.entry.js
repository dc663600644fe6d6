import { decompress } from 'fzstd'
export { parquetReadObjects, parquetMetadataAsync, parquetSchema } from 'hyparquet'
export const compressors = {
  ZSTD: (input, outputLength) => decompress(input, new Uint8Array(outputLength)),
}

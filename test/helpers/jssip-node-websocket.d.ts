/** Types for jssip-node-websocket 3 (a JsSIP socket for Node, over the `websocket` package); it ships none. */
declare module 'jssip-node-websocket' {
  import { Socket } from 'jssip';

  class NodeWebSocket extends Socket {
    constructor(
      url: string,
      options?: { origin?: string; requestOptions?: object; tlsOptions?: object },
    );
  }
  export = NodeWebSocket;
}
